"""LLM10 Unbounded consumption: oversized fields are refused with a message naming the limit, and slow
clients (headers sent slowly, a body trickled and left hanging) do not hold up another user's answer.

Probes already in tests/test_hardening.py, not repeated here: a 10 MB history and a 1 MB request body
(section 1), one session's flood and a full queue told "busy" (section 4), a model reply that ignores its
token limit (section 7).
"""

from __future__ import annotations

import socket

import httpx
import pytest

from tests.security.conftest import PFS, WAIT

gradio_client = pytest.importorskip("gradio_client")

SLOW_CLIENTS = 24  # sockets held open at once, a third of each kind


@pytest.fixture(scope="module")
def url(tutor):
    from tests.conftest import serve
    from tutor.app import build_app

    demo = build_app(tutor)
    yield serve(demo)
    demo.close()


@pytest.fixture(scope="module")
def client(url):
    return gradio_client.Client(url, verbose=False, analytics_enabled=False)


@pytest.mark.parametrize("args,message", [
    (("Why? " * 401, "resident", "", [], ""), "the question is 2005 characters; keep it to 2000 or fewer"),
    ((PFS, "resident", "cardiology " * 10, [], ""), "the specialty is 110 characters; keep it to 100 or fewer"),
    ((PFS, "r" * 201, "", [], ""), "the role is 201 characters; keep it to 200 or fewer"),
    ((PFS, "resident", "", [], "T" * 201), "the trial is 201 characters; keep it to 200 or fewer"),
    ((PFS, "resident", "", [{"role": "user", "content": "Why?"}] * 41, ""), r"41 turns; send at most the last 40"),
    ((PFS, "resident", "", [{"role": "user", "content": "y" * 30_000}] * 3, ""),
     r"more than 60000 characters; send only the latest turns \(TUTOR_MAX_HISTORY_CHARS\)"),
])
def test_an_oversized_field_is_refused_naming_its_limit(client, args, message):
    with pytest.raises(gradio_client.exceptions.AppError, match=message):
        client.submit(*args, api_name="/ask").result(timeout=WAIT)


def open_slow(url: str) -> list[socket.socket]:
    """Slow clients: headers sent in part and left unfinished; a body announced at 60 KB, sent 10 bytes; an
    upload's headers, then silence. Each socket stays open until the test closes it."""
    address = httpx.URL(url)
    sockets = []
    for n in range(SLOW_CLIENTS):
        sock = socket.create_connection((address.host, address.port), timeout=WAIT)
        kind = n % 3
        if kind == 0:
            sock.sendall(b"POST /gradio_api/call/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        elif kind == 1:
            sock.sendall(b"POST /gradio_api/call/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 60000\r\n\r\n{\"data\": [")
        else:
            sock.sendall(b"POST /gradio_api/call/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n5\r\n{\"dat\r\n")
        sockets.append(sock)
    return sockets


def test_slow_clients_do_not_hold_up_another_user_s_answer(url):
    slow = open_slow(url)
    try:
        other = gradio_client.Client(url, verbose=False, analytics_enabled=False)
        # Answered while all 24 hang: the deadline is WAIT, where a server that waited on them would never answer.
        answer = other.submit(PFS, "fellow", "", [], "", api_name="/ask").result(timeout=WAIT)
        assert "9.6" in answer["answer"]
        assert httpx.get(url + "gradio_api/info", timeout=WAIT).status_code == 200
        for sock in slow:  # still hanging, unanswered: nothing above waited for them to finish
            sock.setblocking(False)
            with pytest.raises(BlockingIOError):
                sock.recv(1)
    finally:
        for sock in slow:
            sock.close()


def test_a_trickled_body_past_the_limit_is_refused_as_it_crosses_it(url):
    """A chunked body with no length: read only up to TUTOR_MAX_REQUEST_BYTES, then refused (413)."""
    address = httpx.URL(url)
    with socket.create_connection((address.host, address.port), timeout=WAIT) as sock:
        sock.sendall(b"POST /gradio_api/call/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"x" * 65536
        sent, reply = 0, b""
        sock.settimeout(0.2)  # the read below waits for an answer between chunks; the loop is bounded by count
        for _ in range(40):  # 2.6 MB at most; the limit is 1 MB
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
            try:
                reply += sock.recv(4096)
            except (socket.timeout, ConnectionResetError):
                continue
            if reply:
                break
        sock.settimeout(WAIT)
        while b"\r\n\r\n" not in reply:
            more = sock.recv(4096)
            if not more:
                break
            reply += more
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b"TUTOR_MAX_REQUEST_BYTES" in reply or b"\r\n\r\n" in reply
    assert sent <= 1_000_000 + 2 * len(chunk)
