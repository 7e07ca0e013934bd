"""Alembic's environment for the learner-records database: run with the connection `tutor.database`
hands over (so a migration joins its transaction and lock), or from a URL for `alembic` itself."""

from alembic import context
from sqlalchemy import create_engine

from tutor.database import Base

connection = context.config.attributes.get("connection")
if connection is None:  # `alembic -x url=...` from a shell
    engine = create_engine(context.get_x_argument(as_dictionary=True)["url"])
    connection = engine.connect()

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
