"""A small OpenAI-compatible server for tests: real HTTP on 127.0.0.1, real SSE streaming.

It serves /v1/chat/completions (streamed or not), /v1/models and /v1/embeddings, plays
scripted replies and faults in order, and records every request it gets:

    with FakeOpenAI(models=["test-model"]) as server:
        server.script(Fault(429), Reply("Median PFS was 9.6 months [1]."))
        ... Settings(model="openai", openai_base_url=server.url, openai_api_key="test") ...
        server.chat_requests[-1]["body"]["messages"]
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DIMENSIONS = 64


@dataclass
class Reply:
    """A model answer, streamed in `chunks` pieces when the request asks for a stream."""

    text: str
    chunks: int = 6
    finish_reason: str = "stop"


@dataclass
class Fault:
    """An HTTP error with OpenAI's error body."""

    status: int
    message: str = "scripted fault"
    code: str | None = None
    # Retry-After in ms keeps most tests fast; headers={} leaves the client to its own backoff (0.5 s, 1 s, ...).
    headers: dict[str, str] = field(default_factory=lambda: {"retry-after-ms": "10"})


@dataclass
class Slow:
    """Answer only after `seconds`: longer than the client's timeout, it times out."""

    seconds: float
    then: Reply | None = None


@dataclass
class Cut:
    """Stream the first `after` pieces of `text`, then drop the connection mid-stream
    (after=0: the 200 and the opening role chunk, then nothing)."""

    text: str
    after: int = 2
    chunks: int = 6


def pieces(text: str, n: int) -> list[str]:
    words = re.findall(r"\S+\s*", text) or [text]
    size = max(1, -(-len(words) // n))
    return ["".join(words[i:i + size]) for i in range(0, len(words), size)]


def fake_vector(text: str) -> list[float]:
    """A deterministic bag-of-words vector: texts sharing words point the same way."""
    vector = [0.0] * DIMENSIONS
    for word in re.findall(r"\w+", text.lower()):
        vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % DIMENSIONS] += 1.0
    norm = sum(v * v for v in vector) ** 0.5 or 1.0
    return [v / norm for v in vector]


class FakeOpenAI:
    def __init__(self, models: list[str] | tuple[str, ...] = ("test-model", "test-embed"), api_key: str | None = "test",
                 default: str = "The trial sources say so [1]."):
        self.models = list(models)
        self.api_key = api_key  # None: any key is accepted
        self.default = default
        self.requests: list[dict[str, Any]] = []
        self._script: deque = deque()
        self._lock = threading.Lock()
        self._released = threading.Event()  # lets a Slow reply end early when the server stops
        self._server: ThreadingHTTPServer | None = None

    # -- control -----------------------------------------------------------------------

    def script(self, *steps: Reply | Fault | Slow | Cut) -> None:
        """What the next chat requests get, in order; after that, the default reply."""
        with self._lock:
            self._script.clear()
            self._script.extend(steps)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self.requests.clear()

    def next_step(self):
        with self._lock:
            return self._script.popleft() if self._script else Reply(self.default)

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the server first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> FakeOpenAI:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet test output
            pass

        # -- plumbing --------------------------------------------------------------------

        def _record(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            record = {"method": self.command, "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                      "body": body, "at": time.monotonic()}  # when it arrived: the gaps are the client's backoff
            with fake._lock:
                fake.requests.append(record)
            return record

        def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
            self.close_connection = True

        def _error(self, fault: Fault) -> None:
            kind = {401: "invalid_request_error", 404: "invalid_request_error", 429: "requests"}.get(fault.status, "server_error")
            self._json(fault.status, {"error": {"message": fault.message, "type": kind, "code": fault.code}}, fault.headers)

        def _authorised(self) -> bool:
            if fake.api_key is None or self.headers.get("Authorization") == f"Bearer {fake.api_key}":
                return True
            self._error(Fault(401, "Incorrect API key provided.", "invalid_api_key", headers={}))
            return False

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def _event(self, payload: Any) -> None:
            self._chunk(f"data: {json.dumps(payload)}\n\n".encode())

        # -- endpoints -------------------------------------------------------------------

        def do_GET(self) -> None:
            self._record()
            if not self._authorised():
                return
            if self.path.rstrip("/") == "/v1/models":
                self._json(200, {"object": "list", "data": [
                    {"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in fake.models]})
            else:
                self._error(Fault(404, f"no route {self.path}", headers={}))

        def do_POST(self) -> None:
            record = self._record()
            if not self._authorised():
                return
            body = record["body"] if isinstance(record["body"], dict) else {}
            if self.path == "/v1/embeddings":
                return self._embeddings(body)
            if self.path != "/v1/chat/completions":
                return self._error(Fault(404, f"no route {self.path}", headers={}))
            if body.get("model") not in fake.models:
                return self._error(Fault(404, f"The model `{body.get('model')}` does not exist.", "model_not_found", headers={}))
            step = fake.next_step()
            if isinstance(step, Slow):
                fake._released.wait(step.seconds)
                step = step.then or Reply(fake.default)
            if isinstance(step, Fault):
                return self._error(step)
            try:
                if body.get("stream"):
                    self._stream(body, step)
                else:
                    text = step.text if isinstance(step, Reply) else "".join(pieces(step.text, step.chunks)[: step.after])
                    self._json(200, {
                        "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                        "model": body["model"],
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                     "finish_reason": getattr(step, "finish_reason", "stop")}],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    })
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its timeout): nothing to answer

        def _stream(self, body: dict, step: Reply | Cut) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                    "model": body["model"]}
            self._event({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                              "finish_reason": None}]})
            parts = pieces(step.text, step.chunks)
            if isinstance(step, Cut):
                parts = parts[: step.after]
            for part in parts:
                self._event({**base, "choices": [{"index": 0, "delta": {"content": part}, "finish_reason": None}]})
            if isinstance(step, Cut):
                # Drop the connection without the closing zero-length chunk: the body is incomplete.
                self.wfile.flush()
                self.connection.shutdown(2)
                return
            self._event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": step.finish_reason}]})
            self._chunk(b"data: [DONE]\n\n")
            self._chunk(b"")

        def _embeddings(self, body: dict) -> None:
            if body.get("model") not in fake.models:
                return self._error(Fault(404, f"The model `{body.get('model')}` does not exist.", "model_not_found", headers={}))
            inputs = body.get("input")
            inputs = [inputs] if isinstance(inputs, str) else list(inputs or [])
            data = []
            for i, text in enumerate(inputs):
                vector = fake_vector(str(text))
                if body.get("encoding_format") == "base64":
                    vector = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
                data.append({"object": "embedding", "index": i, "embedding": vector})
            self._json(200, {"object": "list", "data": data, "model": body["model"],
                             "usage": {"prompt_tokens": 1, "total_tokens": 1}})

    return Handler
