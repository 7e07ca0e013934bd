"""Feedback on answers and practice grades, with the trials each is about.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("rating", sa.String(8), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("turn", sa.Integer, nullable=True),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("passages", sa.JSON, nullable=False),
        sa.Column("citations", sa.JSON, nullable=False),
        sa.Column("chosen_trial", sa.String(200), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("specialty", sa.String(200), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("unverified_numbers", sa.JSON, nullable=False),
        sa.Column("dropped_citations", sa.JSON, nullable=False),
        sa.Column("complete", sa.Boolean, nullable=False),
        sa.Column("incomplete_reason", sa.Text, nullable=True),
        sa.Column("details", sa.JSON, nullable=False),
    )
    for column in ("created_at", "kind", "rating", "session_id", "role", "model"):
        op.create_index(f"ix_feedback_{column}", "feedback", [column])
    op.create_table(
        "feedback_trial",
        sa.Column("feedback_id", sa.String(32), sa.ForeignKey("feedback.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("trial", sa.String(200), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
    )
    op.create_index("ix_feedback_trial_trial", "feedback_trial", ["trial"])


def downgrade() -> None:
    op.drop_table("feedback_trial")
    op.drop_table("feedback")
