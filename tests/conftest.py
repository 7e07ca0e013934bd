"""Shared fixtures: one tutor on a temporary store per test session (the embedding model loads once)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT.parent / "shared" / "source" / "emilia-trial-summary.txt"


@pytest.fixture(scope="session")
def settings(tmp_path_factory):
    from tutor.settings import Settings

    return Settings(data_dir=tmp_path_factory.mktemp("chroma"), _env_file=None)


@pytest.fixture(scope="session")
def tutor(settings):
    from tutor.tutor import Tutor

    return Tutor(settings)


@pytest.fixture
def make_settings(tmp_path):
    """Settings on a fresh store and knowledge folder of the test's own."""
    from tutor.settings import Settings

    def make(**overrides):
        values = {"data_dir": tmp_path / "chroma", "knowledge_dir": tmp_path / "knowledge", **overrides}
        Path(values["knowledge_dir"]).mkdir(parents=True, exist_ok=True)
        return Settings(_env_file=None, **values)

    return make


def run_cli(*args: str, env: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run the installed `tutor` command as a user would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "tutor.cli", *args], capture_output=True, text=True, env=full_env,
        timeout=timeout, cwd=ROOT,
    )


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(demo, deadline: float = 60, **launch_kwargs) -> str:
    """Launch a built page on a free loopback port and return its URL once it answers (any status: a
    page behind a login answers too)."""
    import time

    import httpx

    from tutor.app import launch

    url = launch(demo, "127.0.0.1", free_port(), **launch_kwargs)
    until = time.monotonic() + deadline
    while True:
        try:
            httpx.get(url, timeout=2)
            return url
        except httpx.HTTPError:
            pass
        assert time.monotonic() < until, f"the page at {url} did not answer within {deadline} s"
        time.sleep(0.05)  # poll interval: the loop waits for the page to answer


CHROMA = Path(sys.executable).parent / "chroma"


class ChromaServer:
    """`chroma run` on a fixed loopback port and folder, stopped and started again at will."""

    def __init__(self, folder: Path, wait: float = 60):
        self.folder, self.port, self.wait = folder, free_port(), wait
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = (self.folder / "server.log").open("a")
        self.process = subprocess.Popen([str(CHROMA), "run", "--host", "127.0.0.1", "--port", str(self.port),
                                         "--path", str(self.folder / "data")], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.wait
        while True:
            assert self.process.poll() is None, (self.folder / "server.log").read_text()[-2000:]
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "chroma run gave no heartbeat"
            time.sleep(0.1)  # poll interval: the loop waits for the heartbeat

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(self.wait)
