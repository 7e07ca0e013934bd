"""Databases for the learner-records tests: a SQLite file, and a throwaway PostgreSQL cluster on loopback.

The cluster is Debian's `postgresql` package (`make postgres` installs it), made with `initdb` and run
with `pg_ctl` in a temporary folder the `postgres` user owns (both refuse to run as root). Import the
`database_url` fixture into a test module to run its tests on both; each test gets an empty database.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest


def _bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Cluster:
    """A running PostgreSQL cluster; `stop()` and `start()` take it down and bring it back on the same port."""

    bindir: Path
    folder: Path
    port: int

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.folder)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
        done = self._run("pg_ctl", "-D", str(self.folder / "data"), "-l", str(self.folder / "server.log"),
                         "-o", options, "-w", "-t", "60", "start")
        assert done.returncode == 0, f"pg_ctl start failed: {done.stdout}{done.stderr}{self.log()}"

    def stop(self) -> None:
        done = self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")
        assert done.returncode == 0, f"pg_ctl stop failed: {done.stdout}{done.stderr}"

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.url().replace("+psycopg", ""), autocommit=True) as connection:
            connection.execute(statement)

    def new_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.sql(f"CREATE DATABASE {name}")
        return self.url(name)


@pytest.fixture(scope="session")
def postgres():
    """One throwaway cluster for the test session."""
    bindir = _bindir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (make postgres installs Debian's postgresql package)")
    folder = Path(tempfile.mkdtemp(prefix="tutor-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    cluster = Cluster(bindir, folder, _free_port())
    made = cluster._run("initdb", "-D", str(folder / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                        "--no-locale", timeout=120)
    assert made.returncode == 0, f"initdb failed: {made.stdout}{made.stderr}"
    started = time.monotonic()
    cluster.start()
    cluster.started_in = time.monotonic() - started
    try:
        yield cluster
    finally:
        cluster._run("pg_ctl", "-D", str(folder / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """An empty database: a SQLite file, or a new database on the test cluster."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'records.sqlite3'}"
    return request.getfixturevalue("postgres").new_database()
