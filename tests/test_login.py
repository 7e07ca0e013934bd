"""The optional login of a shared deployment (TUTOR_AUTH_FILE): the users file and its commands, the page and
every API route behind it, and the warning when the page is served beyond this machine with no login."""

from __future__ import annotations

import os
from contextlib import contextmanager
import subprocess
import sys

import httpx
import pytest

from tests.conftest import ROOT, run_cli, serve
from tests.test_app_browser import browser  # noqa: F401  (the fixture)
from tutor import auth
from tutor.errors import ConfigError

gradio_client = pytest.importorskip("gradio_client")

PASSWORD = "correct horse battery"


@pytest.fixture
def users_file(tmp_path):
    return tmp_path / "users"


def users(users_file, *args, stdin: str | None = None):
    """`tutor users ...` as a user runs it, on this test's users file."""
    return subprocess.run([sys.executable, "-m", "tutor.cli", "users", *args], input=stdin, capture_output=True,
                          text=True, timeout=60, cwd=ROOT, env={**os.environ, "TUTOR_AUTH_FILE": str(users_file)})


def test_users_add_list_remove(users_file):
    added = users(users_file, "add", "alice", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.returncode == 0 and "added alice" in added.stdout, added.stderr
    assert users(users_file, "add", "bob.smith", "--password-stdin", stdin="another password\n").returncode == 0
    listed = users(users_file, "list")
    assert listed.stdout.split() == ["alice", "bob.smith"]
    text = users_file.read_text()
    assert PASSWORD not in text and "alice:scrypt:16384:8:1:" in text  # salted hash, its cost with it
    assert users_file.stat().st_mode & 0o077 == 0  # its owner's alone

    changed = users(users_file, "add", "alice", "--password-stdin", stdin="a new password\n")
    assert "changed the password of alice" in changed.stdout
    login = auth.checker(users_file)
    assert login("alice", "a new password") and not login("alice", PASSWORD)

    removed = users(users_file, "remove", "bob.smith")
    assert removed.returncode == 0 and users(users_file, "list").stdout.split() == ["alice"]
    missing = users(users_file, "remove", "carol")
    assert missing.returncode == 2 and "no user 'carol'" in missing.stderr and "users: alice" in missing.stderr


def test_the_same_password_hashes_differently_for_two_users(users_file):
    auth.add_user(users_file, "a", PASSWORD)
    auth.add_user(users_file, "b", PASSWORD)
    stored = auth.read_users(users_file)
    assert stored["a"].split(":")[4] != stored["b"].split(":")[4] and stored["a"] != stored["b"]


@pytest.mark.parametrize("args,stdin,message", [
    (("add", "alice", "--password-stdin"), "short\n", "use at least 8"),
    (("add", "al ice", "--password-stdin"), PASSWORD + "\n", "user name 'al ice' is not allowed"),
    (("add", "al:ice", "--password-stdin"), PASSWORD + "\n", "user name 'al:ice' is not allowed"),
])
def test_bad_names_and_passwords_are_refused_in_one_line(users_file, args, stdin, message):
    result = users(users_file, *args, stdin=stdin)
    assert result.returncode == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not users_file.exists()


def test_a_bad_users_file_names_the_line_and_the_fix(users_file):
    auth.add_user(users_file, "alice", PASSWORD)
    with users_file.open("a") as f:
        f.write("mallory:plaintext-password\n")
    result = users(users_file, "list")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "bad line 3" in result.stderr and "tutor users add NAME" in result.stderr
    with pytest.raises(ConfigError, match="bad line 3"):
        auth.checker(users_file)  # `tutor serve` stops at start, before the page is up
    users_file.write_text("")
    with pytest.raises(ConfigError, match="holds no users"):
        auth.checker(users_file)


def test_users_without_the_setting_say_what_to_set(tmp_path):
    result = run_cli("users", "list", env={"TUTOR_AUTH_FILE": ""})
    assert result.returncode == 2 and "TUTOR_AUTH_FILE is not set" in result.stderr


@pytest.mark.parametrize("host,warned", [("127.0.0.1", False), ("localhost", False), ("::1", False),
                                         ("0.0.0.0", True), ("192.168.1.20", True), ("::", True)])
def test_the_warning_is_for_a_non_loopback_host_without_a_login(host, warned, tmp_path):
    assert (auth.exposure_warning(host, None) is not None) is warned
    assert auth.exposure_warning(host, tmp_path / "users") is None


def test_serve_warns_loudly_on_a_non_loopback_host_and_passes_the_login(monkeypatch, capsys, users_file):
    """`tutor serve` as a user runs it, with the page's launch replaced (nothing binds beyond loopback)."""
    import tutor.app
    import tutor.cli
    from tutor.settings import Settings

    launched = {}

    class Demo:
        def block_thread(self):
            pass

    monkeypatch.setattr(tutor.cli, "_tutor", lambda: None)
    monkeypatch.setattr(tutor.app, "build_app", lambda tutor: Demo())
    monkeypatch.setattr(tutor.app, "launch", lambda demo, host, port, auth=None: launched.update(auth=auth) or "http://x/")

    monkeypatch.setattr(tutor.cli, "_settings", lambda: Settings(_env_file=None))
    tutor.cli.serve(host="0.0.0.0", port=7999)
    warned = capsys.readouterr().err
    assert "WARNING: Trial Tutor is listening on 0.0.0.0" in warned and "NO LOGIN" in warned
    assert "TUTOR_AUTH_FILE" in warned and "reverse proxy" in warned and "Traceback" not in warned
    assert launched["auth"] is None

    tutor.cli.serve(host="127.0.0.1", port=7999)
    assert "WARNING" not in capsys.readouterr().err

    auth.add_user(users_file, "alice", PASSWORD)
    monkeypatch.setattr(tutor.cli, "_settings", lambda: Settings(_env_file=None, auth_file=users_file))
    tutor.cli.serve(host="0.0.0.0", port=7999)
    assert "WARNING" not in capsys.readouterr().err
    assert launched["auth"]("alice", PASSWORD) and not launched["auth"]("alice", "wrong password")


# -- the page behind its login -------------------------------------------------------------------

@pytest.fixture(scope="module")
def locked(tutor, tmp_path_factory):
    from tutor.app import build_app

    path = tmp_path_factory.mktemp("login") / "users"
    auth.add_user(path, "alice", PASSWORD)
    demo = build_app(tutor)
    url = serve(demo, auth=auth.checker(path))
    yield url, path
    demo.close()


@contextmanager
def login(url: str, name: str, password: str):
    """An HTTP client that has signed in through the page's login form (or tried to)."""
    with httpx.Client(base_url=url, timeout=60) as client:
        client.signed_in = client.post("login", data={"username": name, "password": password}).status_code == 200
        yield client


@pytest.mark.parametrize("method,path,body", [
    ("GET", "config", None),
    ("GET", "gradio_api/info", None),
    ("POST", "gradio_api/call/ask", {"data": ["What was the median PFS?", "resident", "", [], ""]}),
    ("POST", "gradio_api/call/trials", {"data": []}),
    ("POST", "gradio_api/call/feedback", {"data": []}),
    ("POST", "gradio_api/queue/join", {"data": ["What was the median PFS?", "resident", "", [], ""], "fn_index": 0,
                                       "session_hash": "x"}),
    ("GET", "gradio_api/file=/etc/passwd", None),
])
def test_without_a_login_the_page_and_every_api_route_refuse(locked, method, path, body):
    url, _ = locked
    reply = httpx.request(method, url + path, json=body, timeout=60)
    assert reply.status_code in (401, 403), (path, reply.status_code, reply.text[:200])
    assert "root:" not in reply.text and "9.6" not in reply.text


def test_a_wrong_password_or_name_is_refused_and_the_right_one_admitted(locked):
    url, _ = locked
    for name, password in (("alice", "wrong password"), ("mallory", PASSWORD), ("alice", "")):
        with login(url, name, password) as client:
            assert not client.signed_in and client.get("config").status_code == 401, (name, password)
    with login(url, "alice", PASSWORD) as client:
        assert client.signed_in and client.get("config").status_code == 200
        job = client.post("gradio_api/call/ask", json={"data": ["What was the median PFS?", "resident", "", [], ""]})
        assert job.status_code == 200
        events = client.get(f"gradio_api/call/ask/{job.json()['event_id']}").text
        assert "9.6" in events


def test_gradio_client_needs_the_login(locked):
    url, _ = locked
    with pytest.raises(Exception, match="(?i)login|401|unauthor|credentials"):
        gradio_client.Client(url, auth=("alice", "wrong password"), verbose=False, analytics_enabled=False)
    client = gradio_client.Client(url, auth=("alice", PASSWORD), verbose=False, analytics_enabled=False)
    assert "9.6" in client.predict("What was the median PFS?", "resident", "", [], "", api_name="/ask")["answer"]


def test_a_removed_user_is_refused_without_a_restart(locked):
    url, path = locked
    auth.add_user(path, "bob", "bob's password")
    with login(url, "bob", "bob's password") as client:
        assert client.get("config").status_code == 200
    auth.remove_user(path, "bob")
    with login(url, "bob", "bob's password") as client:
        assert client.get("config").status_code == 401


@pytest.mark.browser
def test_the_browser_page_asks_for_a_login_and_refuses_a_wrong_password(locked, browser):  # noqa: F811
    from tests.test_app_browser import TURN_MS, ask, shot

    url, _ = locked
    page = browser.new_page()
    try:
        page.goto(url, wait_until="domcontentloaded")
        password = page.wait_for_selector("input[type=password]", timeout=TURN_MS)
        assert page.locator("#tt-question").count() == 0  # nothing of the tutor before signing in
        name = page.locator("input:not([type=password])").first
        name.fill("alice")
        password.fill("wrong password")
        page.get_by_role("button", name="Login").click()
        page.get_by_text("Incorrect Credentials").wait_for(timeout=TURN_MS)
        shot(page, "login-refused")
        assert page.locator("#tt-question").count() == 0
        name.fill("alice")
        password.fill(PASSWORD)
        page.get_by_role("button", name="Login").click()
        page.wait_for_selector("#tt-question textarea", timeout=TURN_MS)
        assert "9.6" in ask(page, "What was the median PFS?")
    finally:
        page.close()
