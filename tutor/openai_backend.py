"""The `openai` backend: OpenAI or any OpenAI-compatible server (vLLM, Ollama, llama.cpp, ...).

langchain-openai's ChatOpenAI does the talking; the openai client retries 408/409/429/5xx,
timeouts and dropped connections with backoff (TUTOR_MAX_RETRIES, TUTOR_REQUEST_TIMEOUT).
What is left for us: build it from Settings, and turn what still fails into one ModelError
that names the cause and the setting to fix.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import openai
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI
from pydantic import PrivateAttr

from tutor.errors import ConfigError, ModelError
from tutor.settings import Settings

NO_KEY = "not-needed"  # local servers ignore the key, but the openai client insists on one


def server_name(settings: Settings) -> str:
    return f"the OpenAI-compatible server at {settings.openai_base_url}" if settings.openai_base_url else "the OpenAI API"


def check_config(settings: Settings) -> None:
    """Raise ConfigError when the openai backend cannot even try: no key, or a base URL that is not one."""
    if settings.openai_base_url:
        url = urlparse(settings.openai_base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigError(
                f"OPENAI_BASE_URL={settings.openai_base_url!r} is not a URL; use the server's OpenAI address, "
                "e.g. http://127.0.0.1:8000/v1"
            )
    elif settings.openai_api_key is None or not settings.openai_api_key.get_secret_value().strip():
        raise ConfigError(
            "TUTOR_MODEL=openai needs OPENAI_API_KEY (in the environment or .env), or OPENAI_BASE_URL pointing at "
            "a local OpenAI-compatible server; or set TUTOR_MODEL=offline"
        )


def api_key(settings: Settings) -> str:
    key = settings.openai_api_key.get_secret_value().strip() if settings.openai_api_key else ""
    return key or NO_KEY


def attempts(settings: Settings) -> int:
    return settings.max_retries + 1


def longest_wait(settings: Settings) -> float:
    """Seconds before a request to a server that never answers gives up: every attempt waits
    TUTOR_REQUEST_TIMEOUT, and the openai client backs off 0.5 s, 1 s, 2 s, ... (at most 8 s) between
    them, less up to 25% jitter. A server's Retry-After header (up to 120 s) replaces the backoff."""
    backoff = sum(min(0.5 * 2**n, 8.0) for n in range(settings.max_retries))
    return attempts(settings) * settings.request_timeout + backoff


def model_error(exc: BaseException, settings: Settings, model: str, received: int = 0, written: int = 0,
                elapsed: float | None = None) -> ModelError:
    """One message a user can act on, for anything the openai client raises.

    received: stream chunks that arrived before the failure (the server had answered 200);
    written: characters of answer text among them; elapsed: seconds since the first attempt."""
    where = server_name(settings)
    retries = settings.max_retries
    tried = f"after {retries} retr{'y' if retries == 1 else 'ies'}" if retries else "with retries off"
    broken = isinstance(exc, openai.APIConnectionError) or (
        isinstance(exc, openai.APIError) and not isinstance(exc, openai.APIStatusError))
    if broken and written:
        return ModelError(f"the connection to {where} broke after {written} characters of the answer "
                          f"({_cause(exc)}); ask again")
    if broken and received:  # 200 and the stream opened, then nothing: the server, not the network
        if isinstance(exc, openai.APITimeoutError):
            return ModelError(f"{where} accepted the request but wrote no answer within TUTOR_REQUEST_TIMEOUT="
                              f"{settings.request_timeout:g} s; raise TUTOR_REQUEST_TIMEOUT for a slow server, "
                              "or check the server's log")
        return ModelError(f"{where} accepted the request but closed the stream before answering ({_cause(exc)}); "
                          "ask again, and check the server's log if it keeps happening")
    if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
        return ModelError(f"{where} rejected the API key ({exc.status_code}); check OPENAI_API_KEY")
    if isinstance(exc, openai.NotFoundError):
        return ModelError(
            f"{where} has no model {model!r} ({exc.status_code}: {_detail(exc)}); set TUTOR_OPENAI_MODEL to a model it "
            "serves (`tutor doctor` lists them)" + ("" if not settings.openai_base_url else
                                                   " and check that OPENAI_BASE_URL ends in /v1")
        )
    if isinstance(exc, openai.RateLimitError):
        if getattr(exc, "code", None) == "insufficient_quota":
            return ModelError(f"{where} says the account is out of quota (429); check the plan of OPENAI_API_KEY")
        return ModelError(f"{where} is rate-limiting requests (429) {tried}; wait a minute and ask again, "
                          "or raise TUTOR_MAX_RETRIES")
    if isinstance(exc, openai.BadRequestError):
        return ModelError(f"{where} refused the request (400: {_detail(exc)}); check TUTOR_OPENAI_MODEL, "
                          "TUTOR_MAX_TOKENS and TUTOR_TEMPERATURE, or lower TUTOR_HISTORY_TOKENS and TUTOR_TOP_K")
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code >= 500:
            return ModelError(f"{where} failed with a server error ({exc.status_code}) {tried}; try again later, "
                              "or check the server's log")
        return ModelError(f"{where} answered {exc.status_code}: {_detail(exc)}")
    if isinstance(exc, openai.APITimeoutError):
        n = attempts(settings)
        total = f", {elapsed:.0f} s in all" if elapsed is not None else ""
        return ModelError(
            f"{where} did not answer within TUTOR_REQUEST_TIMEOUT={settings.request_timeout:g} s "
            f"{'on any of ' + str(n) + ' attempts' if n > 1 else '(retries off)'}{total}; raise TUTOR_REQUEST_TIMEOUT "
            "for a slow server, lower TUTOR_MAX_RETRIES to give up sooner, or check the server")
    if isinstance(exc, openai.APIConnectionError):
        if not _never_connected(exc):
            return ModelError(f"{where} closed the connection without answering ({_cause(exc)}) {tried}; "
                              "ask again, and check the server's log if it keeps happening")
        fix = "check OPENAI_BASE_URL and that the server is running" if settings.openai_base_url else \
            "check the network connection, or set OPENAI_BASE_URL to a local server"
        return ModelError(f"cannot reach {where} ({_cause(exc)}); {fix}")
    if isinstance(exc, openai.APIError):
        return ModelError(f"{where} reported an error: {_detail(exc)}")
    return ModelError(f"the model at {where} failed: {type(exc).__name__}: {exc}")


def _never_connected(exc: BaseException) -> bool:
    """True when the transport error underneath is a failed connect (refused, no such host, connect timeout)."""
    seen: BaseException | None = exc
    for _ in range(20):  # a chain, not a cycle
        if seen is None:
            break
        if type(seen).__name__ in ("ConnectError", "ConnectTimeout") or isinstance(
                seen, (ConnectionRefusedError, socket.gaierror)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _detail(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        body = body.get("error", body)
        if isinstance(body, dict) and body.get("message"):
            return str(body["message"])[:300]
    return (getattr(exc, "message", None) or str(exc))[:300]


def _cause(exc: BaseException) -> str:
    root = exc  # the transport error at the bottom of the chain says what happened
    while root.__cause__ is not None and root.__cause__ is not root:
        root = root.__cause__
    text = f"{type(root).__name__}: {root}" if root is not exc else str(exc)
    return text.splitlines()[0][:200] if text else type(exc).__name__


class TutorChatOpenAI(ChatOpenAI):
    """ChatOpenAI whose failures are ModelErrors, and whose stream must end with a finish reason:
    a stream that stops without one, or at TUTOR_MAX_TOKENS, was cut, and the answer is incomplete."""

    _settings: Settings = PrivateAttr()

    def _fail(self, exc: BaseException, received: int = 0, written: int = 0, started: float | None = None) -> ModelError:
        elapsed = time.monotonic() - started if started is not None else None
        return model_error(exc, self._settings, self.model_name, received, written, elapsed)

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        started = time.monotonic()
        received = written = 0
        blank = True  # nothing but whitespace so far
        finish = None
        try:
            for chunk in super()._stream(*args, **kwargs):
                received += 1
                written += len(chunk.text)
                blank = blank and not chunk.text.strip()
                finish = finish or (chunk.generation_info or {}).get("finish_reason")
                yield chunk
        except Exception as exc:
            raise self._fail(exc, received, written, started) from exc
        where, limit = server_name(self._settings), self._settings.max_tokens
        if finish == "length":
            if blank:
                raise ModelError(f"the model spent all TUTOR_MAX_TOKENS={limit} tokens before writing any answer "
                                 "(a reasoning model thinks first); raise TUTOR_MAX_TOKENS")
            raise ModelError(f"the answer reached TUTOR_MAX_TOKENS={limit} tokens and was cut; raise TUTOR_MAX_TOKENS")
        if not finish:
            raise ModelError(f"{where} ended the stream after {written} characters without finishing the answer; "
                             "ask again")
        if blank:
            raise ModelError(f"the model returned an empty answer ({self.model_name} at {where}); ask again, and if it "
                             "keeps happening check TUTOR_OPENAI_MODEL (a chat model, fully loaded) and the server's log")

    def _generate(self, *args: Any, **kwargs: Any) -> ChatResult:
        started = time.monotonic()
        try:
            return super()._generate(*args, **kwargs)
        except Exception as exc:
            raise self._fail(exc, started=started) from exc

    def _get_request_payload(self, *args: Any, **kwargs: Any) -> dict:
        payload = super()._get_request_payload(*args, **kwargs)
        if self._settings.openai_base_url and "max_completion_tokens" in payload:
            # OpenAI renamed the field; local servers (llama.cpp, Ollama, older vLLM) know max_tokens.
            payload["max_tokens"] = payload.pop("max_completion_tokens")
        return payload


def chat_model(settings: Settings) -> TutorChatOpenAI:
    check_config(settings)
    model = TutorChatOpenAI(
        model=settings.openai_model,
        api_key=api_key(settings),
        base_url=settings.openai_base_url,
        temperature=settings.temperature,
        max_tokens=settings.max_tokens,
        timeout=settings.request_timeout,
        max_retries=settings.max_retries,
        use_responses_api=False,  # chat completions: the API every compatible server speaks
    )
    model._settings = settings
    return model


def client(settings: Settings, max_retries: int = 0) -> openai.OpenAI:
    """A plain openai client with the same settings, for `tutor doctor`."""
    check_config(settings)
    return openai.OpenAI(api_key=api_key(settings), base_url=settings.openai_base_url,
                         timeout=settings.request_timeout, max_retries=max_retries)
