"""A fake OpenAI / Anthropic HTTP server for tests and benchmarks.

Speaks just enough HTTP/1.1 (keep-alive, Content-Length or chunked bodies) for
the real ``openai`` and ``anthropic`` SDKs to talk to it on 127.0.0.1:

* ``POST /v1/chat/completions`` -> an OpenAI ``chat.completion`` object
* ``POST /v1/messages``         -> an Anthropic ``message`` object
* ``GET  /health``              -> ``{"status": "ok"}``
* the Batch APIs (``server.batch``, see ``BatchEndpoints``): OpenAI ``/v1/files`` (upload, content) and
  ``/v1/batches`` (create, retrieve); Anthropic ``/v1/messages/batches`` (create, retrieve, results).
  Each request of a batch is decided like a live call (rules, faults, responder) and counted.

What each request gets is decided, in order, by: request validation (missing
``model``/``messages``/``max_tokens`` -> 400), the first matching rule from
``add_rule``, a random fault drawn from ``fault_rates``, then ``responder``.
A ``str`` result is a label, wrapped as ``{"label", "confidence", "rationale"}``.
Replies longer than the request's ``max_tokens``/``max_completion_tokens`` are
cut and marked ``length`` / ``max_tokens``, as the real APIs do. OpenAI reasoning
models (``o*``, ``gpt-5*``) refuse ``max_tokens`` and a ``temperature`` other than
1 with OpenAI's 400s. A ``Reply`` can take every shape real servers send (see its
fields: content lists, tool calls, reasoning fields, cache usage, model ids).

In-process: ``with FakeServer() as server: ... server.openai_base_url``.
Separate process: ``python tests/fakeserver.py --port 0 --latency 0.2`` prints
``PORT=<n>`` and serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import email
import email.policy
import hashlib
import http
import itertools
import json
import random
import re
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Api = Literal["openai", "anthropic"]
FaultKind = Literal[
    "rate_limit", "server", "overloaded", "timeout", "reset", "garbage", "auth", "bad_request", "not_found"
]
FAULT_KINDS: tuple[str, ...] = FaultKind.__args__  # type: ignore[attr-defined]

_ROUTES: dict[str, Api] = {"/v1/chat/completions": "openai", "/v1/messages": "anthropic"}
_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}
# kind -> (status, Anthropic error type, OpenAI error type, OpenAI error code, message)
_ERRORS: dict[str, tuple[int, str, str, str | None, str]] = {
    "rate_limit": (429, "rate_limit_error", "requests", "rate_limit_exceeded", "Rate limit reached (fake)."),
    "server": (500, "api_error", "server_error", None, "The server had an error processing your request (fake)."),
    "overloaded": (529, "overloaded_error", "server_error", None, "Overloaded (fake)."),  # OpenAI gets 503
    "auth": (401, "authentication_error", "invalid_request_error", "invalid_api_key", "Invalid API key (fake)."),
    "bad_request": (400, "invalid_request_error", "invalid_request_error", None, "Invalid request (fake)."),
    "not_found": (
        404,
        "not_found_error",
        "invalid_request_error",
        "model_not_found",
        "The model does not exist or you do not have access to it (fake).",
    ),
}
# OpenAI's reasoning models (o-series, gpt-5) refuse these Chat Completions parameters, with these messages
_REASONING_MODEL = re.compile(r"^(o\d|gpt-5)")
GARBAGE_BODY = "<html><body><h1>502 Bad Gateway</h1>upstream hiccup</body></html>"


@dataclass(frozen=True)
class FakeRequest:
    """One parsed API call, as seen by rules and responders."""

    api: Api
    path: str
    headers: Mapping[str, str]  # lower-cased names
    body: dict[str, Any]
    text: str  # system + user text, concatenated
    user_text: str
    attempt: int  # how many times this exact body has been seen (1-based)

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    @property
    def max_tokens(self) -> int | None:
        value = self.body.get("max_completion_tokens") or self.body.get("max_tokens")
        return int(value) if isinstance(value, int) else None


@dataclass(frozen=True)
class Reply:
    """A successful completion. ``finish_reason`` uses OpenAI names; it is mapped for Anthropic."""

    text: str | None = None
    finish_reason: str = "stop"
    refusal: str | None = None  # OpenAI: message.refusal + content null; Anthropic: stop_reason "refusal"
    blocks: tuple[dict[str, Any], ...] = ()  # Anthropic content blocks placed before the text block
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency: float | None = None  # overrides server.latency (+ jitter)
    model: str | None = None  # the model id the reply names (default: the request's)
    system_fingerprint: str | None = None  # OpenAI
    content_parts: tuple[Any, ...] | None = None  # OpenAI: message.content as this list instead of the text
    content_value: Any = None  # OpenAI: message.content as exactly this value (an odd server), when set
    tool_calls: tuple[dict[str, Any], ...] = ()  # OpenAI: message.tool_calls
    message_extra: Mapping[str, Any] = field(default_factory=dict)  # OpenAI: more message fields (reasoning_content…)
    choice_extra: Mapping[str, Any] = field(default_factory=dict)  # OpenAI: more choice fields (content_filter_results)
    usage_extra: Mapping[str, Any] = field(default_factory=dict)  # merged into usage (cache tokens, token details)


@dataclass(frozen=True)
class Fault:
    """A failure. ``status`` overrides the kind's default status code."""

    kind: FaultKind
    status: int | None = None
    message: str | None = None
    retry_after: float = 0.05  # seconds; rate_limit sends retry-after and retry-after-ms
    hang_seconds: float = 30.0  # timeout: how long to hold the request before dropping it
    body: str = GARBAGE_BODY  # garbage: the 200 body
    content_type: str = "application/json"  # garbage: the 200 content type
    should_retry: bool | None = None  # sends x-should-retry: true/false when set
    code: str | None = None  # OpenAI error code (default: the kind's)
    param: str | None = None  # OpenAI error param
    extra: Mapping[str, Any] = field(default_factory=dict)  # more fields of the error object (Azure's innererror)


Result = str | Reply | Fault
Responder = Callable[[FakeRequest], Result]


@dataclass
class RequestRecord:
    """Accounting entry; ``status`` is None while pending or when no response was sent."""

    api: Api
    path: str
    user_text: str
    attempt: int
    at: float
    status: int | None = None
    outcome: str = "pending"  # "ok" or a fault kind
    done: float | None = None  # when the response was handed to the socket
    request: FakeRequest | None = field(default=None, repr=False)  # full body and headers


@dataclass
class _Rule:
    match: str
    result: Result
    times: int | None


@dataclass
class _HttpRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool


def estimate_tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4) if text else 0


def verdict_text(label: str, confidence: float = 0.9, rationale: str = "fake") -> str:
    return json.dumps({"label": label, "confidence": confidence, "rationale": rationale})


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _extract_text(api: Api, body: dict[str, Any]) -> tuple[str, str]:
    """Return (system text, user text) from a request body."""
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    system = [_content_text(body.get("system"))] if api == "anthropic" else []
    system += [_content_text(m.get("content")) for m in messages if m.get("role") in ("system", "developer")]
    user = [_content_text(m.get("content")) for m in messages if m.get("role") == "user"]
    return "\n".join(s for s in system if s), "\n".join(user)


def _validate(api: Api, body: dict[str, Any]) -> str | None:
    required = ("model", "messages", "max_tokens") if api == "anthropic" else ("model", "messages")
    missing = [name for name in required if name not in body]
    return f"missing required field(s): {', '.join(missing)}" if missing else None


def _refused_parameter(api: Api, body: dict[str, Any]) -> Fault | None:
    """What OpenAI answers a reasoning model (o-series, gpt-5) sent a parameter it does not take."""
    if api != "openai" or not _REASONING_MODEL.match(str(body.get("model", ""))):
        return None
    if "max_tokens" in body:
        return Fault(
            "bad_request",
            code="unsupported_parameter",
            param="max_tokens",
            message="Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead.",
        )
    if body.get("temperature", 1) != 1:
        return Fault(
            "bad_request",
            code="unsupported_value",
            param="temperature",
            message=f"Unsupported value: 'temperature' does not support {body['temperature']} with this "
            f"model. Only the default (1) value is supported.",
        )
    return None


class FakeServer:
    """Threaded asyncio HTTP server imitating the OpenAI and Anthropic APIs."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        latency: float = 0.0,
        latency_jitter: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.host = host
        self.port = port
        self.latency = latency
        self.latency_jitter = latency_jitter
        self.positive_words: set[str] = {"scam", "vermin", "kill"}
        self.labels: list[str] = ["violating", "non_violating"]
        self.responder: Responder = self.default_responder
        self.fault_rates: dict[str, float] = {}
        self.fault_templates: dict[str, Fault] = {}  # kind -> Fault used for random faults
        self.rates_on_retries = True
        self.seed = seed
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._records: list[RequestRecord] = []
        self._attempts: dict[bytes, int] = {}
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._answer_before_hold: int | None = None  # see hold()
        self._held: asyncio.Event | None = None
        self.batch = BatchEndpoints(self)

    # ----------------------------------------------------------- configuration
    @property
    def seed(self) -> int:
        return self._seed

    @seed.setter
    def seed(self, value: int) -> None:
        self._seed = value
        self._rng = random.Random(value)

    def add_rule(self, match: str, result: Result, times: int | None = None) -> None:
        """When ``match`` is in the user text, answer ``result`` (for attempts 1..times of a body, if given)."""
        with self._lock:
            self._rules.append(_Rule(match, result, times))

    def clear_rules(self) -> None:
        with self._lock:
            self._rules.clear()

    def hold(self, after: int) -> None:
        """Answer the next `after` model calls as usual, then leave every later call unanswered until `release()`.
        A client stays mid-replay with calls in flight for as long as a test needs, so a signal aimed at a replay
        lands mid-way on any machine without latency or timing (the held calls count as requests)."""
        with self._lock:
            self._answer_before_hold = after
            self._held = asyncio.Event()

    def release(self) -> None:
        """Answer the held calls (a client that went away just closes them) and stop holding."""
        with self._lock:
            held, self._held, self._answer_before_hold = self._held, None, None
        if held is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(held.set)

    def default_responder(self, request: FakeRequest) -> Result:
        words = {w.strip(".,;:!?\"'()[]").lower() for w in request.user_text.split()}
        return self.labels[0] if words & {w.lower() for w in self.positive_words} else self.labels[1]

    # -------------------------------------------------------------- accounting
    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def count(self, api: str | None = None, match: str | None = None, status: int | None = None) -> int:
        return sum(
            1
            for r in self.requests
            if (api is None or r.api == api)
            and (match is None or match in r.user_text)
            and (status is None or r.status == status)
        )

    def stats(self) -> dict[str, Any]:
        """What `GET /_stats` answers (for a benchmark in another process): how many requests arrived, when the
        first arrived and when the last answer left (wall-clock seconds), then forgets them."""
        with self._lock:
            records, self._records = self._records, []
        done = [r.done for r in records if r.done is not None]
        return {
            "requests": len(records),
            "first_at": min((r.at for r in records), default=None),
            "last_done": max(done, default=None),
        }

    def reset_counts(self) -> None:
        """Forget recorded requests and per-body attempt counters."""
        with self._lock:
            self._records.clear()
            self._attempts.clear()

    # --------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    def start(self) -> FakeServer:
        if self._loop is not None:
            return self
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fakeserver", daemon=True)
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        self._server = future.result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        loop.close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _listen(self) -> asyncio.Server:
        return await asyncio.start_server(self._on_connection, self.host, self.port, backlog=1024)

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    # -------------------------------------------------------------- connection
    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while (req := await _read_request(reader, writer)) is not None:
                if not await self._dispatch(req, reader, writer) or not req.keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass  # client went away or sent something unparseable: drop the connection
        except asyncio.CancelledError:
            pass  # server stopping; 3.11's start_server logs an error if the task ends cancelled
        finally:
            self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _dispatch(self, req: _HttpRequest, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False means the connection must not be reused."""
        if req.method == "GET" and req.path in ("/health", "/healthz"):
            await _send(writer, 200, {"status": "ok"}, req.keep_alive)
            return True
        if req.method == "GET" and req.path == "/_stats":
            await _send(writer, 200, self.stats(), req.keep_alive)
            return True
        if req.path.startswith(BATCH_PATHS):
            return await self.batch.dispatch(req, writer)
        api = _ROUTES.get(req.path) if req.method == "POST" else None
        if api is None:
            body = {"error": {"message": f"no route {req.method} {req.path}", "type": "not_found_error", "code": None}}
            await _send(writer, 404, body, req.keep_alive)
            return True
        try:
            payload = json.loads(req.body or b"{}")
            if not isinstance(payload, dict):
                raise ValueError("body must be a JSON object")
        except ValueError as exc:
            return await self._fault(Fault("bad_request", message=f"invalid JSON: {exc}"), api, None, reader, writer)
        request = self._make_request(api, req, payload)
        record = self._record(request)
        if held := self._held_here():
            await held.wait()
        outcome = self._decide(request)
        if isinstance(outcome, Fault):
            return await self._fault(outcome, api, record, reader, writer)
        await asyncio.sleep(self._delay(outcome))
        build = _openai_body if api == "openai" else _anthropic_body
        body = build(request, outcome, next(self._ids))
        record.status, record.outcome, record.done = 200, "ok", time.time()
        await _send(writer, 200, body, req.keep_alive, _id_headers(next(self._ids)))
        return True

    def _make_request(self, api: Api, req: _HttpRequest, payload: dict[str, Any]) -> FakeRequest:
        key = hashlib.blake2b(req.path.encode() + b"\0" + req.body, digest_size=16).digest()
        with self._lock:
            attempt = self._attempts[key] = self._attempts.get(key, 0) + 1
        system, user = _extract_text(api, payload)
        text = "\n".join(t for t in (system, user) if t)
        return FakeRequest(api, req.path, req.headers, payload, text, user, attempt)

    def _record(self, request: FakeRequest) -> RequestRecord:
        record = RequestRecord(
            request.api, request.path, request.user_text, request.attempt, time.time(), request=request
        )
        with self._lock:
            self._records.append(record)
        return record

    def _held_here(self) -> asyncio.Event | None:
        """The event a call that arrived now waits for (hold()), or None to answer it."""
        with self._lock:
            if self._held is None or self._answer_before_hold is None:
                return None
            if self._answer_before_hold > 0:
                self._answer_before_hold -= 1
                return None
            return self._held

    # ---------------------------------------------------------------- deciding
    def _decide(self, request: FakeRequest) -> Reply | Fault:
        problem = _validate(request.api, request.body)
        if problem:
            return Fault("bad_request", message=problem)
        refused = _refused_parameter(request.api, request.body)
        if refused:
            return refused
        result = self._match_rule(request) or self._random_fault(request)
        if result is None:
            try:
                result = self.responder(request)
            except Exception as exc:  # noqa: BLE001  a broken responder should fail loudly, not hang
                return Fault("server", message=f"fake responder raised {exc!r}", should_retry=False)
        return self._finalize(request, result)

    def _match_rule(self, request: FakeRequest) -> Result | None:
        with self._lock:
            rules = list(self._rules)
        for rule in rules:
            if rule.match in request.user_text and (rule.times is None or request.attempt <= rule.times):
                return rule.result
        return None

    def _random_fault(self, request: FakeRequest) -> Fault | None:
        if not self.fault_rates or (request.attempt > 1 and not self.rates_on_retries):
            return None
        draw, cumulative = self._rng.random(), 0.0
        for kind, rate in self.fault_rates.items():
            cumulative += rate
            if draw < cumulative:
                return self.fault_templates.get(kind) or Fault(kind)  # type: ignore[arg-type]
        return None

    def _finalize(self, request: FakeRequest, result: Result) -> Reply | Fault:
        if isinstance(result, Fault):
            return result
        reply = Reply(text=verdict_text(result)) if isinstance(result, str) else result
        limit = request.max_tokens
        if reply.text and reply.finish_reason == "stop" and limit is not None and estimate_tokens(reply.text) > limit:
            reply = dataclasses.replace(reply, text=reply.text[: limit * 4], finish_reason="length")
        return reply

    def _delay(self, reply: Reply) -> float:
        if reply.latency is not None:
            return reply.latency
        return self.latency + (self._rng.uniform(0, self.latency_jitter) if self.latency_jitter else 0.0)

    # ------------------------------------------------------------------ faults
    async def _fault(
        self,
        fault: Fault,
        api: Api,
        record: RequestRecord | None,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        if record is not None:
            record.outcome = fault.kind
        if fault.kind == "reset":
            _abort(writer)
            return False
        if fault.kind == "timeout":
            with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
                await asyncio.wait_for(_until_eof(reader), fault.hang_seconds)
            return False
        if fault.kind == "garbage":
            status, raw, headers = fault.status or 200, fault.body.encode(), {"content-type": fault.content_type}
        else:
            status, body, headers = _error_response(fault, api)
            raw = json.dumps(body).encode()
        if record is not None:
            record.status, record.done = status, time.time()
        await _write(writer, status, raw, headers | _id_headers(next(self._ids)), True)
        return True


# ------------------------------------------------------------- Batch APIs
BATCH_PATHS = ("/v1/files", "/v1/batches", "/v1/messages/batches")
_ANTHROPIC_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_BATCH_REQUEST_PATHS: dict[Api, str] = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages"}


@dataclass
class FakeBatch:
    """One OpenAI batch or Anthropic message batch: its requests and, once processed, their results."""

    id: str
    api: Api
    requests: list[tuple[str, dict[str, Any]]]  # (custom_id, request body)
    created_at: float
    input_file_id: str | None = None
    metadata: dict[str, Any] | None = None
    status: str = "in_progress"  # OpenAI: in_progress → completed | failed | expired; Anthropic: → ended
    errors: list[str] = field(default_factory=list)  # OpenAI validation errors (status failed)
    results: dict[str, tuple[str, int, dict[str, Any] | None]] = field(
        default_factory=dict
    )  # id → (kind, status, body)
    output_file_id: str | None = None
    error_file_id: str | None = None
    ended_at: float | None = None
    retrievals: int = 0


class BatchEndpoints:
    """The Batch APIs of a ``FakeServer``; state and knobs live here (``server.batch``).

    A batch is processed the first time it is retrieved while ``hold`` is False: each request is
    decided like a live call (validation, rules, random faults, responder; counted in
    ``server.requests`` with path ``batch:<endpoint>``). ``expire_after=N`` processes only the first N
    requests of a batch and expires the rest; ``fail_validation`` makes the next OpenAI batch fail
    validation with that message.
    """

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.hold = False
        self.expire_after: int | None = None
        self.fail_validation: str | None = None
        self.batches: dict[str, FakeBatch] = {}
        self.files: dict[str, tuple[str, str, bytes]] = {}  # id → (filename, purpose, content)
        self.calls: list[tuple[str, str]] = []  # (method, path) of every batch-API call, in order
        self._ids = itertools.count(1)

    def count(self, method: str | None = None, prefix: str = "") -> int:
        return sum(1 for m, p in self.calls if (method is None or m == method) and p.startswith(prefix))

    # ----------------------------------------------------------------- routing
    async def dispatch(self, req: _HttpRequest, writer: asyncio.StreamWriter) -> bool:
        self.calls.append((req.method, req.path))
        parts = req.path.strip("/").split("/")  # v1 files|batches|messages ...
        try:
            status, body = self._route(req, parts)
        except _BatchError as exc:
            status, body = exc.status, exc.body
        if isinstance(body, bytes):
            await _write(writer, status, body, {"content-type": "application/octet-stream"}, req.keep_alive)
        else:
            await _send(writer, status, body, req.keep_alive, _id_headers(next(self.server._ids)))
        return True

    def _route(self, req: _HttpRequest, parts: list[str]) -> tuple[int, dict[str, Any] | bytes]:
        method, n = req.method, len(parts)
        if parts[1] == "files":
            if method == "POST" and n == 2:
                return 200, self._upload(req)
            if method == "GET" and n == 3:
                return 200, self._file_object(parts[2])
            if method == "GET" and n == 4 and parts[3] == "content":
                return 200, self._file(parts[2])[2]
        elif parts[1] == "batches":
            if method == "POST" and n == 2:
                return 200, self._openai_batch(self._openai_create(_json_body(req, "openai")))
            if method == "GET" and n == 3:
                return 200, self._openai_batch(self._retrieve(parts[2], "openai"))
        elif parts[1:3] == ["messages", "batches"]:
            if method == "POST" and n == 3:
                return 200, self._anthropic_batch(self._anthropic_create(_json_body(req, "anthropic")))
            if method == "GET" and n == 4:
                return 200, self._anthropic_batch(self._retrieve(parts[3], "anthropic"))
            if method == "GET" and n == 5 and parts[4] == "results":
                return 200, self._anthropic_results(self._retrieve(parts[3], "anthropic"))
        raise _BatchError(404, "openai", f"no route {method} {req.path}")

    # ------------------------------------------------------------------- files
    def _upload(self, req: _HttpRequest) -> dict[str, Any]:
        fields = _multipart(req)
        if "file" not in fields or "purpose" not in fields:
            raise _BatchError(400, "openai", "multipart body needs 'file' and 'purpose'")
        filename, content = fields["file"]
        file_id = f"file-fake{next(self._ids):06d}"
        self.files[file_id] = (filename or "upload.jsonl", fields["purpose"][1].decode(), content)
        return self._file_object(file_id)

    def _file(self, file_id: str) -> tuple[str, str, bytes]:
        if file_id not in self.files:
            raise _BatchError(404, "openai", f"No such File object: {file_id}")
        return self.files[file_id]

    def _file_object(self, file_id: str) -> dict[str, Any]:
        filename, purpose, content = self._file(file_id)
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(content),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
        }

    def _add_file(self, purpose: str, lines: list[dict[str, Any]]) -> str | None:
        if not lines:
            return None
        file_id = f"file-fake{next(self._ids):06d}"
        self.files[file_id] = (f"{file_id}.jsonl", purpose, "".join(json.dumps(x) + "\n" for x in lines).encode())
        return file_id

    # ----------------------------------------------------------------- batches
    def _openai_create(self, body: dict[str, Any]) -> FakeBatch:
        if body.get("endpoint") != "/v1/chat/completions" or body.get("completion_window") != "24h":
            raise _BatchError(400, "openai", "endpoint must be /v1/chat/completions and completion_window 24h")
        _, purpose, content = self._file(str(body.get("input_file_id")))
        batch = FakeBatch(
            f"batch_fake{next(self._ids):06d}",
            "openai",
            [],
            time.time(),
            input_file_id=body["input_file_id"],
            metadata=body.get("metadata"),
        )
        seen: set[str] = set()
        for number, line in enumerate(content.decode().splitlines(), start=1):
            try:
                entry = json.loads(line)
                cid = entry["custom_id"]
                assert (
                    entry["method"] == "POST" and entry["url"] == body["endpoint"] and isinstance(entry["body"], dict)
                )
                assert cid not in seen, "duplicate custom_id"
            except (ValueError, KeyError, TypeError, AssertionError) as exc:
                batch.errors.append(f"line {number}: invalid request ({exc or type(exc).__name__})")
                continue
            seen.add(cid)
            batch.requests.append((cid, entry["body"]))
        if purpose != "batch":
            batch.errors.append("the input file's purpose must be 'batch'")
        if self.fail_validation:
            batch.errors.append(self.fail_validation)
            self.fail_validation = None
        if batch.errors:
            batch.status, batch.ended_at = "failed", time.time()
        self.batches[batch.id] = batch
        return batch

    def _anthropic_create(self, body: dict[str, Any]) -> FakeBatch:
        requests = body.get("requests")
        if not isinstance(requests, list) or not requests:
            raise _BatchError(400, "anthropic", "requests: a non-empty list is required")
        ids = [r.get("custom_id") if isinstance(r, dict) else None for r in requests]
        bad = [i for i in ids if not isinstance(i, str) or not _ANTHROPIC_CUSTOM_ID.match(i)]
        if bad or len(set(ids)) != len(ids):
            raise _BatchError(400, "anthropic", f"custom_id must be unique and match {_ANTHROPIC_CUSTOM_ID.pattern}")
        if any(not isinstance(r.get("params"), dict) for r in requests):
            raise _BatchError(400, "anthropic", "each request needs params")
        batch = FakeBatch(
            f"msgbatch_fake{next(self._ids):06d}",
            "anthropic",
            [(r["custom_id"], r["params"]) for r in requests],
            time.time(),
        )
        self.batches[batch.id] = batch
        return batch

    def _retrieve(self, batch_id: str, api: Api) -> FakeBatch:
        batch = self.batches.get(batch_id)
        if batch is None or batch.api != api:
            raise _BatchError(404, api, f"no batch {batch_id}")
        batch.retrievals += 1
        if batch.status == "in_progress" and not self.hold:
            self._process(batch)
        return batch

    def _process(self, batch: FakeBatch) -> None:
        limit = len(batch.requests) if self.expire_after is None else self.expire_after
        for index, (cid, body) in enumerate(batch.requests):
            batch.results[cid] = self._decide(batch.api, body) if index < limit else ("expired", 0, None)
        batch.ended_at = time.time()
        expired = limit < len(batch.requests)
        if batch.api == "anthropic":
            batch.status = "ended"
            return
        batch.status = "expired" if expired else "completed"
        out, err = [], []
        for cid, (kind, status, body) in batch.results.items():
            line: dict[str, Any] = {
                "id": f"batch_req_fake{next(self._ids):06d}",
                "custom_id": cid,
                "response": None,
                "error": None,
            }
            if kind == "expired":
                line["error"] = {
                    "code": "batch_expired",
                    "message": "This request could not be executed before the completion window expired.",
                }
            else:
                line["response"] = {"status_code": status, "request_id": f"req_fake{next(self._ids):06d}", "body": body}
            (out if kind == "ok" else err).append(line)
        batch.output_file_id = self._add_file("batch_output", out)
        batch.error_file_id = self._add_file("batch_output", err)

    def _decide(self, api: Api, body: dict[str, Any]) -> tuple[str, int, dict[str, Any]]:
        """One request of a batch, decided and counted like a live call: (kind, HTTP status, body)."""
        server = self.server
        path = _BATCH_REQUEST_PATHS[api]
        raw = json.dumps(body, sort_keys=True).encode()
        request = server._make_request(api, _HttpRequest("POST", path, {}, raw, True), body)
        record = server._record(dataclasses.replace(request, path=f"batch:{path}"))
        outcome = server._decide(request)
        if isinstance(outcome, Fault):
            kind = outcome.kind if outcome.kind in _ERRORS else "server"  # transport faults: a 500 in a batch
            status, error_body, _ = _error_response(dataclasses.replace(outcome, kind=kind), api)  # type: ignore[arg-type]
            record.status, record.outcome, record.done = status, outcome.kind, time.time()
            return "error", status, error_body
        build = _openai_body if api == "openai" else _anthropic_body
        record.status, record.outcome, record.done = 200, "ok", time.time()
        return "ok", 200, build(request, outcome, next(server._ids))

    # ------------------------------------------------------------ wire objects
    def _openai_batch(self, batch: FakeBatch) -> dict[str, Any]:
        failed = sum(1 for kind, _, _ in batch.results.values() if kind != "ok")
        done = batch.status != "in_progress"
        return {
            "id": batch.id,
            "object": "batch",
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
            "input_file_id": batch.input_file_id,
            "status": batch.status,
            "created_at": int(batch.created_at),
            "errors": {
                "object": "list",
                "data": [{"code": "invalid_request", "message": m, "param": None, "line": None} for m in batch.errors],
            }
            if batch.errors
            else None,
            "output_file_id": batch.output_file_id,
            "error_file_id": batch.error_file_id,
            "completed_at": int(batch.ended_at) if batch.status == "completed" else None,
            "failed_at": int(batch.ended_at) if batch.status == "failed" else None,
            "expired_at": int(batch.ended_at) if batch.status == "expired" else None,
            "request_counts": {
                "total": len(batch.requests),
                "completed": len(batch.results) - failed if done else 0,
                "failed": failed if done else 0,
            },
            "metadata": batch.metadata,
        }

    def _anthropic_batch(self, batch: FakeBatch) -> dict[str, Any]:
        kinds = [kind for kind, _, _ in batch.results.values()]
        ended = batch.status == "ended"
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": batch.status,
            "request_counts": {
                "processing": 0 if ended else len(batch.requests),
                "succeeded": kinds.count("ok"),
                "errored": kinds.count("error"),
                "canceled": 0,
                "expired": kinds.count("expired"),
            },
            "created_at": _iso(batch.created_at),
            "expires_at": _iso(batch.created_at + 86400),
            "ended_at": _iso(batch.ended_at) if ended and batch.ended_at else None,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": f"{self.server.url}/v1/messages/batches/{batch.id}/results" if ended else None,
        }

    def _anthropic_results(self, batch: FakeBatch) -> bytes:
        if batch.status != "ended":
            raise _BatchError(400, "anthropic", f"batch {batch.id} is still {batch.status}")
        lines = []
        for cid, (kind, _status, body) in batch.results.items():
            if kind == "ok":
                result: dict[str, Any] = {"type": "succeeded", "message": body}
            elif kind == "error":
                result = {"type": "errored", "error": body}
            else:
                result = {"type": "expired"}
            lines.append(json.dumps({"custom_id": cid, "result": result}) + "\n")
        return "".join(lines).encode()


class _BatchError(Exception):
    def __init__(self, status: int, api: Api, message: str) -> None:
        super().__init__(message)
        self.status = status
        kind = "bad_request" if status == 400 else "not_found"
        if api == "anthropic":
            self.body: dict[str, Any] = {
                "type": "error",
                "error": {
                    "type": f"{kind}_error" if kind == "not_found" else "invalid_request_error",
                    "message": message,
                },
            }
        else:
            self.body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}


def _json_body(req: _HttpRequest, api: Api) -> dict[str, Any]:
    try:
        body = json.loads(req.body or b"{}")
    except ValueError as exc:
        raise _BatchError(400, api, f"invalid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise _BatchError(400, api, "body must be a JSON object")
    return body


def _multipart(req: _HttpRequest) -> dict[str, tuple[str | None, bytes]]:
    """A multipart/form-data body as field name → (filename, bytes)."""
    content_type = req.headers.get("content-type", "")
    if "multipart/form-data" not in content_type:
        raise _BatchError(400, "openai", "expected a multipart/form-data upload")
    message = email.message_from_bytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + req.body, policy=email.policy.HTTP
    )
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        if name:
            fields[str(name)] = (part.get_filename(), part.get_payload(decode=True) or b"")
    return fields


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


# ------------------------------------------------------------------ payloads
def _openai_body(request: FakeRequest, reply: Reply, n: int) -> dict[str, Any]:
    content: Any = (
        None if reply.refusal is not None or (reply.text is None and reply.tool_calls) else (reply.text or "")
    )
    output = reply.output_tokens if reply.output_tokens is not None else estimate_tokens(content or reply.refusal or "")
    prompt = reply.input_tokens if reply.input_tokens is not None else estimate_tokens(request.text)
    if reply.content_parts is not None:
        content = list(reply.content_parts)
    if reply.content_value is not None:
        content = reply.content_value
    message = {"role": "assistant", "content": content, "refusal": reply.refusal, **reply.message_extra}
    if reply.tool_calls:
        message["tool_calls"] = list(reply.tool_calls)
    choice = {
        "index": 0,
        "message": message,
        "logprobs": None,
        "finish_reason": reply.finish_reason,
        **reply.choice_extra,
    }
    body = {
        "id": f"chatcmpl-fake{n:06d}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": reply.model or request.model,
        "choices": [choice],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": output,
            "total_tokens": prompt + output,
            **reply.usage_extra,
        },
    }
    if reply.system_fingerprint is not None:
        body["system_fingerprint"] = reply.system_fingerprint
    return body


def _anthropic_body(request: FakeRequest, reply: Reply, n: int) -> dict[str, Any]:
    content = list(reply.blocks)
    if reply.refusal is None and reply.text is not None:
        content.append({"type": "text", "text": reply.text})
    stop_reason = (
        "refusal" if reply.refusal is not None else _STOP_REASONS.get(reply.finish_reason, reply.finish_reason)
    )
    details = {"type": "refusal", "category": None, "explanation": reply.refusal} if reply.refusal is not None else None
    output = reply.output_tokens if reply.output_tokens is not None else estimate_tokens(reply.text or "")
    prompt = reply.input_tokens if reply.input_tokens is not None else estimate_tokens(request.text)
    return {
        "id": f"msg_fake{n:06d}",
        "type": "message",
        "role": "assistant",
        "model": reply.model or request.model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "stop_details": details,
        "usage": {"input_tokens": prompt, "output_tokens": output, **reply.usage_extra},
    }


def _error_response(fault: Fault, api: Api) -> tuple[int, dict[str, Any], dict[str, str]]:
    status, anthropic_type, openai_type, openai_code, default_message = _ERRORS[fault.kind]
    status = fault.status or (503 if fault.kind == "overloaded" and api == "openai" else status)
    message = fault.message or default_message
    if api == "anthropic":
        body: dict[str, Any] = {"type": "error", "error": {"type": anthropic_type, "message": message}}
    else:
        body = {
            "error": {
                "message": message,
                "type": openai_type,
                "param": fault.param,
                "code": fault.code or openai_code,
                **fault.extra,
            }
        }
    headers = {"content-type": "application/json"}
    if fault.kind == "rate_limit":
        headers["retry-after"] = f"{fault.retry_after:g}"
        headers["retry-after-ms"] = str(round(fault.retry_after * 1000))
    if fault.should_retry is not None:
        headers["x-should-retry"] = "true" if fault.should_retry else "false"
    return status, body, headers


def _id_headers(n: int) -> dict[str, str]:
    request_id = f"req_fake{n:06d}"
    return {"x-request-id": request_id, "request-id": request_id}


# ---------------------------------------------------------------- HTTP layer
async def _read_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> _HttpRequest | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None  # client closed the keep-alive connection
    lines = head.decode("latin-1").lstrip("\r\n").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    if headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    else:
        body = await reader.readexactly(int(headers.get("content-length") or 0))
    connection = headers.get("connection", "").lower()
    keep_alive = connection != "close" and (version.strip() != "HTTP/1.0" or connection == "keep-alive")
    return _HttpRequest(method.upper(), target.split("?", 1)[0], headers, body, keep_alive)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0].strip() or b"0", 16):
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
    while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
        pass
    return b"".join(parts)


async def _until_eof(reader: asyncio.StreamReader) -> None:
    while await reader.read(65536):
        pass


async def _send(
    writer: asyncio.StreamWriter,
    status: int,
    body: dict[str, Any],
    keep_alive: bool,
    headers: dict[str, str] | None = None,
) -> None:
    headers = {"content-type": "application/json"} | (headers or {})
    await _write(writer, status, json.dumps(body).encode(), headers, keep_alive)


async def _write(
    writer: asyncio.StreamWriter, status: int, raw: bytes, headers: dict[str, str], keep_alive: bool
) -> None:
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Overloaded" if status == 529 else "Unknown"
    headers = headers | {"content-length": str(len(raw)), "connection": "keep-alive" if keep_alive else "close"}
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    writer.write(head.encode("latin-1") + raw)
    await writer.drain()


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close abruptly: SO_LINGER 0 makes the kernel send RST instead of FIN."""
    sock = writer.get_extra_info("socket")
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


# ----------------------------------------------------------------------- CLI
def _parse_rates(spec: str) -> dict[str, float]:
    rates: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        kind, _, rate = item.partition("=")
        if kind not in FAULT_KINDS:
            raise argparse.ArgumentTypeError(f"unknown fault kind {kind!r}; choose from {', '.join(FAULT_KINDS)}")
        rates[kind] = float(rate)
    return rates


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--latency-jitter", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fault-rates", type=_parse_rates, default={}, help="e.g. rate_limit=0.05,server=0.01")
    parser.add_argument("--retry-after", type=float, default=0.05, help="seconds, for rate_limit faults")
    parser.add_argument("--hang-seconds", type=float, default=30.0, help="for timeout faults")
    parser.add_argument("--first-attempt-only", action="store_true", help="random faults only on attempt 1")
    args = parser.parse_args(argv)
    server = FakeServer(args.host, args.port, latency=args.latency, latency_jitter=args.latency_jitter, seed=args.seed)
    server.fault_rates = args.fault_rates
    server.fault_templates = {
        "rate_limit": Fault("rate_limit", retry_after=args.retry_after),
        "timeout": Fault("timeout", hang_seconds=args.hang_seconds),
    }
    server.rates_on_retries = not args.first_attempt_only
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    with server:
        print(f"PORT={server.port}", flush=True)
        done.wait()


if __name__ == "__main__":
    main()
