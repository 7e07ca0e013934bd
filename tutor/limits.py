"""What the page's server accepts: no file uploads, bounded request bodies, a bounded queue and a fair share
of it per session.

- `RequestLimits` is ASGI middleware in front of Gradio: a POST to the upload route is refused (403; the
  page has no file input), and a request body over TUTOR_MAX_REQUEST_BYTES is refused (413) before it is
  read, so a 10 MB history never reaches the JSON parser.
- `admit` wraps the queue's door: past TUTOR_QUEUE_SIZE waiting turns, or TUTOR_SESSION_JOBS waiting or
  running turns of one session, a new turn is refused at once with a "busy, try again" message (HTTP 503,
  which Gradio's page and client both show as busy) instead of waiting behind one client's flood.
"""

from __future__ import annotations

import json
import logging

log = logging.getLogger(__name__)

BUSY = "The tutor is busy: {waiting} turns are waiting (TUTOR_QUEUE_SIZE={size}); try again in a moment."
SESSION_BUSY = ("You already have {mine} turns waiting or being answered (TUTOR_SESSION_JOBS={limit}); "
                "wait for them to finish, then try again.")


class RequestLimits:
    """ASGI middleware: no uploads, and no request body larger than `max_bytes`."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        if path.rstrip("/").endswith("/upload"):
            log.warning("refused an upload to %s from %s", path, _client(scope))
            return await _refuse(send, 403, "This page takes no files: uploads are switched off.")
        length = dict(scope.get("headers") or ()).get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > self.max_bytes:
                log.warning("refused a %s-byte request to %s from %s (TUTOR_MAX_REQUEST_BYTES=%d)",
                            length.decode(errors="replace"), path, _client(scope), self.max_bytes)
                return await _refuse(send, 413, f"The request is larger than TUTOR_MAX_REQUEST_BYTES={self.max_bytes} "
                                                "bytes; send a shorter question or history.")
            return await self.app(scope, receive, send)
        # No length given (chunked): read up to the bound, then hand the body on as it came.
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                log.warning("refused a chunked request over %d bytes to %s from %s", self.max_bytes, path, _client(scope))
                return await _refuse(send, 413, f"The request is larger than TUTOR_MAX_REQUEST_BYTES={self.max_bytes} "
                                                "bytes; send a shorter question or history.")
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


def _client(scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "an unknown client"


async def _refuse(send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _events(queue):
    """Every event waiting in one of Gradio's event queues or being run."""
    for event_queue in queue.event_queue_per_concurrency_id.values():
        yield from event_queue.queue
    for job in queue.active_jobs:
        yield from job or ()


def admit(demo, session_jobs: int, turns: str) -> None:
    """Give each session a fair share of the turns of `demo` (already `.queue()`d with its max_size): the
    events of concurrency group `turns`, the ones the model answers. A click on a thumb or a comment is
    never refused because that session's page is still updating; the queue's max_size bounds them all.
    Say "busy, try again" in words when the queue is full. A call with no session (a bare POST to
    /gradio_api/call/...) counts against its client's address instead."""
    queue = demo._queue
    push = queue.push
    owners: dict[str, str] = {}  # event id -> client address, for the calls that came with no session

    def owner(event) -> str:
        return owners.get(event._id, event.session_hash)

    def is_turn(fn) -> bool:
        return getattr(fn, "concurrency_id", None) == turns

    async def fair_push(body, request, username):
        sessionless = body.session_hash is None
        key = body.session_hash or f"address {request.client.host if request.client else '?'}"
        live = list(_events(queue))
        for stale in set(owners) - {event._id for event in live}:
            owners.pop(stale, None)
        fn = demo.fns.get(body.fn_index) if body.fn_index is not None else None
        mine = sum(1 for event in live if owner(event) == key and is_turn(event.fn))
        if fn is not None and is_turn(fn) and mine >= session_jobs:
            log.warning("refused a turn: %s has %d turns queued or running (TUTOR_SESSION_JOBS=%d)",
                        key if sessionless else "session " + key[:8] + "…", mine, session_jobs)
            return False, SESSION_BUSY.format(mine=mine, limit=session_jobs), "queue_full"
        accepted, detail, state = await push(body, request, username)
        if state == "queue_full":
            log.warning("refused a turn: the queue is full (TUTOR_QUEUE_SIZE=%s)", queue.max_size)
            detail = BUSY.format(waiting=len(queue), size=queue.max_size)
        elif accepted and sessionless:
            owners[detail] = key
        return accepted, detail, state

    queue.push = fair_push
