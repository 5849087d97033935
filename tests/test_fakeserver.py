"""Drive the real openai / anthropic SDKs against tests/fakeserver.py."""

from __future__ import annotations

import asyncio
import json
import select
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from lazy_import import LazyModule

try:
    from fakeserver import FakeRequest, FakeServer, Fault, Reply
except ImportError:  # tests/ imported as a package
    from tests.fakeserver import FakeRequest, FakeServer, Fault, Reply

if TYPE_CHECKING:
    import anthropic
    import openai
else:  # the SDKs (~3 s of CPU to import) load in the worker that runs these tests, not in every one that collects
    anthropic, openai = LazyModule("anthropic"), LazyModule("openai")

APIS = ["openai", "anthropic"]
Client = Any  # openai.AsyncOpenAI | anthropic.AsyncAnthropic


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as srv:
        yield srv


def make_client(api: str, server: FakeServer, **kwargs: Any) -> Client:
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("timeout", 5.0)
    if api == "openai":
        return openai.AsyncOpenAI(api_key="sk-test", base_url=server.openai_base_url, **kwargs)
    return anthropic.AsyncAnthropic(api_key="sk-ant-test", base_url=server.anthropic_base_url, **kwargs)


async def ask(client: Client, text: str, *, system: str | None = None, max_tokens: int = 256, **kwargs: Any) -> Any:
    if isinstance(client, openai.AsyncOpenAI):
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": text}]
        return await client.chat.completions.create(
            model="gpt-test", messages=messages, max_completion_tokens=max_tokens, **kwargs
        )
    extra = {"system": system} if system else {}
    return await client.messages.create(
        model="claude-test", max_tokens=max_tokens, messages=[{"role": "user", "content": text}], **extra, **kwargs
    )


def text_of(response: Any) -> str:
    if isinstance(response, openai.types.chat.ChatCompletion):
        return response.choices[0].message.content or ""
    return response.content[-1].text


def errors(api: str) -> Any:
    return openai if api == "openai" else anthropic


def spy_retry_delays(client: Client, monkeypatch: pytest.MonkeyPatch, cap: float = 0.01) -> list[float]:
    """Record the delay the SDK computes before each retry; sleep at most ``cap`` (keeps tests fast)."""
    delays: list[float] = []
    original = client._calculate_retry_timeout

    def spy(*args: Any, **kwargs: Any) -> float:
        delays.append(original(*args, **kwargs))
        return min(delays[-1], cap)

    monkeypatch.setattr(client, "_calculate_retry_timeout", spy)
    return delays


# ----------------------------------------------------------------- replies
@pytest.mark.parametrize("api", APIS)
async def test_default_reply_parses(server: FakeServer, api: str) -> None:
    async with make_client(api, server) as client:
        bad = await ask(client, "this is a SCAM, send money", system="policy: threats to kill are violating")
        good = await ask(client, "lovely weather", system="policy: threats to kill are violating")
    assert json.loads(text_of(bad)) == {"label": "violating", "confidence": 0.9, "rationale": "fake"}
    assert json.loads(text_of(good))["label"] == "non_violating"  # system text does not drive the label
    if api == "openai":
        choice = bad.choices[0]
        assert (choice.finish_reason, choice.message.role, choice.message.refusal) == ("stop", "assistant", None)
        assert bad.model == "gpt-test" and bad.object == "chat.completion"
        assert bad.usage.prompt_tokens > 0 and bad.usage.completion_tokens > 0
        assert bad.usage.total_tokens == bad.usage.prompt_tokens + bad.usage.completion_tokens
    else:
        assert (bad.stop_reason, bad.role, bad.model, bad.type) == ("end_turn", "assistant", "claude-test", "message")
        assert bad.usage.input_tokens > 0 and bad.usage.output_tokens > 0
    assert [(r.api, r.status, r.outcome) for r in server.requests] == [(api, 200, "ok")] * 2
    assert server.count(api=api, match="SCAM") == 1 and server.count(api="nope") == 0


@pytest.mark.parametrize("api", APIS)
async def test_labels_and_positive_words_configurable(server: FakeServer, api: str) -> None:
    server.labels, server.positive_words = ["flag", "pass"], {"spam"}
    async with make_client(api, server) as client:
        assert json.loads(text_of(await ask(client, "buy spam now!")))["label"] == "flag"
        assert json.loads(text_of(await ask(client, "a scam")))["label"] == "pass"


async def test_refusal_openai(server: FakeServer) -> None:
    server.add_rule("refuse", Reply(refusal="I can't help with that."))
    async with make_client("openai", server) as client:
        message = (await ask(client, "please refuse")).choices[0].message
    assert message.content is None and message.refusal == "I can't help with that."


async def test_refusal_anthropic(server: FakeServer) -> None:
    server.add_rule("refuse", Reply(refusal="I can't help with that."))
    async with make_client("anthropic", server) as client:
        message = await ask(client, "please refuse")
    assert message.stop_reason == "refusal" and message.content == []
    assert message.stop_details is not None and message.stop_details.explanation == "I can't help with that."


@pytest.mark.parametrize("api", APIS)
async def test_length_truncation(server: FakeServer, api: str) -> None:
    server.add_rule("forced", Reply(text='{"label": "viol', finish_reason="length"))
    async with make_client(api, server) as client:
        auto = await ask(client, "short budget", max_tokens=3)  # the verdict needs ~16 tokens
        forced = await ask(client, "forced cut")
    expected = "length" if api == "openai" else "max_tokens"
    for response in (auto, forced):
        reason = response.choices[0].finish_reason if api == "openai" else response.stop_reason
        assert reason == expected
        with pytest.raises(json.JSONDecodeError):
            json.loads(text_of(response))
    assert text_of(auto) == '{"label": "n'  # cut to max_tokens * 4 = 12 characters


async def test_anthropic_thinking_and_tool_use_blocks_precede_text(server: FakeServer) -> None:
    blocks = (
        {"type": "thinking", "thinking": "hmm, a scam?", "signature": "x"},
        {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "scam"}},
    )
    server.add_rule("", Reply(text='{"label": "violating"}', blocks=blocks, finish_reason="tool_calls"))
    async with make_client("anthropic", server) as client:
        message = await ask(client, "anything")
    assert [block.type for block in message.content] == ["thinking", "tool_use", "text"]
    assert isinstance(message.content[0], anthropic.types.ThinkingBlock) and message.content[0].signature == "x"
    assert isinstance(message.content[1], anthropic.types.ToolUseBlock) and message.content[1].input == {"q": "scam"}
    assert message.content[-1].text == '{"label": "violating"}' and message.stop_reason == "tool_use"


@pytest.mark.parametrize("api", APIS)
async def test_custom_responder_sees_request(server: FakeServer, api: str) -> None:
    seen: list[FakeRequest] = []

    def responder(request: FakeRequest) -> str | Reply | Fault:
        seen.append(request)
        return Reply(text="raw text", input_tokens=7, output_tokens=3) if "raw" in request.user_text else "custom"

    server.responder = responder
    async with make_client(api, server) as client:
        assert json.loads(text_of(await ask(client, "hello", system="SYS")))["label"] == "custom"
        raw = await ask(client, "raw please")
    assert text_of(raw) == "raw text"
    usage = (
        (raw.usage.prompt_tokens, raw.usage.completion_tokens)
        if api == "openai"
        else (raw.usage.input_tokens, raw.usage.output_tokens)
    )
    assert usage == (7, 3)
    first = seen[0]
    assert (first.api, first.user_text, first.text, first.attempt) == (api, "hello", "SYS\nhello", 1)
    assert first.model.endswith("-test") and first.body["messages"][-1]["content"] == "hello"
    assert first.headers["content-type"] == "application/json"


@pytest.mark.parametrize("api", APIS)
async def test_broken_responder_gives_500(server: FakeServer, api: str) -> None:
    server.responder = lambda request: 1 / 0  # type: ignore[assignment, return-value]
    async with make_client(api, server, max_retries=2) as client:
        with pytest.raises(errors(api).InternalServerError) as info:
            await ask(client, "x")
    assert "ZeroDivisionError" in info.value.message
    assert server.count() == 1  # x-should-retry: false stops the SDK retrying


# ------------------------------------------------------------------ faults
@pytest.mark.parametrize("api", APIS)
async def test_rate_limit_twice_then_success(server: FakeServer, api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    server.add_rule("retry-me", Fault("rate_limit", retry_after=0.05), times=2)
    async with make_client(api, server, max_retries=2) as client:
        delays = spy_retry_delays(client, monkeypatch, cap=1.0)
        response = await ask(client, "retry-me please")
    assert json.loads(text_of(response))["label"] == "non_violating"
    assert server.count(match="retry-me") == 3
    assert [(r.attempt, r.status) for r in server.requests] == [(1, 429), (2, 429), (3, 200)]
    assert delays == [pytest.approx(0.05), pytest.approx(0.05)]  # retry-after(-ms) honoured, not 0.5 s backoff


@pytest.mark.parametrize("api", APIS)
async def test_rate_limit_error_shape(server: FakeServer, api: str) -> None:
    server.add_rule("", Fault("rate_limit", retry_after=2))
    async with make_client(api, server, max_retries=0) as client:
        with pytest.raises(errors(api).RateLimitError) as info:
            await ask(client, "x")
    err = info.value
    assert err.status_code == 429
    assert err.response.headers["retry-after"] == "2" and err.response.headers["retry-after-ms"] == "2000"
    if api == "openai":
        assert (err.type, err.code) == ("requests", "rate_limit_exceeded")
        assert err.request_id and err.request_id.startswith("req_")
    else:
        assert err.body["type"] == "error" and err.type == "rate_limit_error"
        assert err.request_id and err.request_id.startswith("req_")


@pytest.mark.parametrize("api", APIS)
async def test_zero_retry_after_falls_back_to_backoff(
    server: FakeServer, api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.add_rule("", Fault("rate_limit", retry_after=0), times=1)
    async with make_client(api, server, max_retries=1) as client:
        delays = spy_retry_delays(client, monkeypatch)
        await ask(client, "x")
    assert len(delays) == 1 and 0.375 <= delays[0] <= 0.5  # SDK's own 0.5 s * jitter backoff


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_error_then_success(
    server: FakeServer, api: str, status: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.add_rule("flaky", Fault("server", status=status), times=1)
    async with make_client(api, server, max_retries=2) as client:
        spy_retry_delays(client, monkeypatch)
        response = await ask(client, "flaky call")
    assert json.loads(text_of(response))["label"] == "non_violating"
    assert [r.status for r in server.requests] == [status, 200]


@pytest.mark.parametrize("api", APIS)
async def test_server_error_exhausts_retries(server: FakeServer, api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    server.add_rule("", Fault("server"))
    async with make_client(api, server, max_retries=2) as client:
        spy_retry_delays(client, monkeypatch)
        with pytest.raises(errors(api).InternalServerError) as info:
            await ask(client, "x")
    assert info.value.status_code == 500 and server.count() == 3


async def test_overloaded_anthropic_529(server: FakeServer) -> None:
    server.add_rule("", Fault("overloaded"))
    async with make_client("anthropic", server, max_retries=0) as client:
        with pytest.raises(anthropic.InternalServerError) as info:
            await ask(client, "x")
    assert isinstance(info.value, anthropic.OverloadedError)
    assert info.value.status_code == 529 and info.value.type == "overloaded_error"


async def test_overloaded_openai_is_503(server: FakeServer) -> None:
    server.add_rule("", Fault("overloaded"))
    async with make_client("openai", server, max_retries=0) as client:
        with pytest.raises(openai.InternalServerError) as info:
            await ask(client, "x")
    assert info.value.status_code == 503 and info.value.type == "server_error"


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(
    ("kind", "status", "name"), [("auth", 401, "AuthenticationError"), ("bad_request", 400, "BadRequestError")]
)
async def test_client_errors_not_retried(server: FakeServer, api: str, kind: Any, status: int, name: str) -> None:
    server.add_rule("", Fault(kind))
    async with make_client(api, server, max_retries=2) as client:
        with pytest.raises(getattr(errors(api), name)) as info:
            await ask(client, "x")
    assert info.value.status_code == status and server.count() == 1


@pytest.mark.parametrize("api", APIS)
async def test_timeout(server: FakeServer, api: str) -> None:
    server.add_rule("hang", Fault("timeout"))
    async with make_client(api, server, max_retries=0, timeout=0.3) as client:
        with pytest.raises(errors(api).APITimeoutError):
            await ask(client, "hang here")
        assert json.loads(text_of(await ask(client, "fine")))  # server still serves
    assert [r.status for r in server.requests] == [None, 200] and server.requests[0].outcome == "timeout"


@pytest.mark.parametrize("api", APIS)
async def test_reset(server: FakeServer, api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    server.add_rule("drop", Fault("reset"), times=1)
    async with make_client(api, server, max_retries=0) as client:
        with pytest.raises(errors(api).APIConnectionError) as info:
            await ask(client, "drop me")
        assert not isinstance(info.value, errors(api).APITimeoutError)
    async with make_client(api, server, max_retries=1) as client:  # attempt 2 of the same body succeeds
        spy_retry_delays(client, monkeypatch)
        server.add_rule("drop again", Fault("reset"), times=1)
        assert json.loads(text_of(await ask(client, "drop again")))


@pytest.mark.parametrize("api", APIS)
async def test_garbage(server: FakeServer, api: str) -> None:
    server.add_rule("json-ish", Fault("garbage"))
    server.add_rule("html", Fault("garbage", content_type="text/html"))
    async with make_client(api, server, max_retries=2) as client:
        # content-type application/json + non-JSON body: both SDKs let the raw json.JSONDecodeError
        # escape from create() -- it is NOT an openai/anthropic APIError, and it is not retried.
        with pytest.raises(json.JSONDecodeError):
            await ask(client, "json-ish")
        # Non-JSON content-type: both SDKs silently return the body as a plain str instead of a model.
        assert await ask(client, "html") == "<html><body><h1>502 Bad Gateway</h1>upstream hiccup</body></html>"
    assert server.count() == 2


# --------------------------------------------------- injection & accounting
@pytest.mark.parametrize("api", APIS)
async def test_random_fault_rates_are_seeded(api: str) -> None:
    async def statuses(rates_on_retries: bool, max_retries: int) -> list[int | None]:
        with FakeServer(seed=42) as srv:
            srv.fault_rates = {"rate_limit": 0.5}
            srv.fault_templates = {"rate_limit": Fault("rate_limit", retry_after=0.001)}
            srv.rates_on_retries = rates_on_retries
            async with make_client(api, srv, max_retries=max_retries) as client:
                for i in range(20):
                    try:
                        await ask(client, f"message {i}")
                    except errors(api).RateLimitError:
                        pass
            return [r.status for r in srv.requests]

    first, again = await statuses(True, 0), await statuses(True, 0)
    assert first == again and 0 < first.count(429) < 20
    retried = await statuses(False, 1)  # retries never faulted, so every call succeeds on attempt 2
    assert retried.count(200) == 20 and retried.count(429) == first.count(429)


@pytest.mark.parametrize("api", APIS)
async def test_reset_counts_resets_attempts(server: FakeServer, api: str) -> None:
    server.add_rule("once", "violating", times=1)
    async with make_client(api, server) as client:
        assert json.loads(text_of(await ask(client, "once")))["label"] == "violating"
        assert json.loads(text_of(await ask(client, "once")))["label"] == "non_violating"  # attempt 2
        server.reset_counts()
        assert server.count() == 0
        assert json.loads(text_of(await ask(client, "once")))["label"] == "violating"


@pytest.mark.parametrize("api", APIS)
async def test_hold_answers_the_next_calls_then_holds_the_rest_until_release(server: FakeServer, api: str) -> None:
    server.hold(after=2)
    async with make_client(api, server) as client:
        for i in range(2):
            assert json.loads(text_of(await ask(client, f"call {i} scam")))["label"] == "violating"
        held = [asyncio.ensure_future(ask(client, f"held {i} scam")) for i in range(2)]
        while server.count() < 4:
            await asyncio.sleep(0.01)
        assert not any(h.done() for h in held) and [r.status for r in server.requests] == [200, 200, None, None]
        server.release()
        assert all(json.loads(text_of(r))["label"] == "violating" for r in await asyncio.gather(*held))
        await ask(client, "after the release")
    assert [r.status for r in server.requests] == [200] * 5


async def test_64_concurrent_requests_with_latency(server: FakeServer) -> None:
    """Concurrent requests wait out their latency side by side, not one after another (how close 64 calls
    at 0.2 s come to the ideal 0.2 s is measured by bench/micro.py)."""
    server.latency = 0.2
    async with make_client("openai", server) as client:
        await ask(client, "warm-up")
        server.reset_counts()
        results = await asyncio.gather(*(ask(client, f"req {i} scam") for i in range(64)))
    assert all(json.loads(text_of(r))["label"] == "violating" for r in results)
    records = server.requests
    assert len(records) == 64 and all(r.status == 200 and r.done is not None for r in records)
    assert most_at_once(records) > 1


def most_at_once(records: list[Any]) -> int:
    """The most requests in the server at one moment (arrived, not yet answered)."""
    edges = sorted([(r.at, 1) for r in records] + [(r.done, -1) for r in records], key=lambda e: (e[0], e[1]))
    level = peak = 0
    for _, step in edges:
        level += step
        peak = max(peak, level)
    return peak


# --------------------------------------------------------------- HTTP layer
def test_health_and_unknown_path(server: FakeServer) -> None:
    with urllib.request.urlopen(f"{server.url}/health", timeout=5) as response:
        assert response.status == 200 and json.load(response) == {"status": "ok"}
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{server.url}/v1/nope", timeout=5)
    with info.value:
        assert info.value.code == 404 and json.load(info.value)["error"]["type"] == "not_found_error"


async def test_stats_say_when_the_calls_came_and_then_forget_them(server: FakeServer) -> None:
    """GET /_stats (for bench/replay.py, in another process): requests since the last look, the first's arrival
    and the last answer's departure."""

    def stats() -> dict[str, Any]:
        with urllib.request.urlopen(f"{server.url}/_stats", timeout=5) as response:
            return dict(json.load(response))

    assert stats() == {"requests": 0, "first_at": None, "last_done": None}
    before = time.time()
    async with make_client("openai", server) as client:
        await ask(client, "one")
        await ask(client, "two")
    seen = stats()
    assert seen["requests"] == 2 and before <= seen["first_at"] <= seen["last_done"] <= time.time()
    assert stats()["requests"] == 0


def test_invalid_json_and_missing_fields_give_400(server: FakeServer) -> None:
    def post(path: str, data: bytes) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(f"{server.url}{path}", data=data, headers={"content-type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, timeout=5)
        with info.value:
            return info.value.code, json.load(info.value)

    assert post("/v1/chat/completions", b"{not json")[0] == 400
    status, body = post("/v1/messages", json.dumps({"model": "m", "messages": []}).encode())
    assert status == 400 and body["type"] == "error" and "max_tokens" in body["error"]["message"]


def _read_response(sock_file: Any) -> tuple[int, bytes]:
    status = int(sock_file.readline().split()[1])
    headers = {}
    while (line := sock_file.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.lower()] = value.strip()
    return status, sock_file.read(int(headers["content-length"]))


def test_keep_alive_and_chunked_body(server: FakeServer) -> None:
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "kill it"}]}).encode()
    plain = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    chunked = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + f"{10:x}\r\n".encode()
        + body[:10]
        + b"\r\n"
        + f"{len(body) - 10:x}\r\n".encode()
        + body[10:]
        + b"\r\n0\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock, sock.makefile("rb") as stream:
        sock.sendall(plain + chunked)  # pipelined on one connection
        for _ in range(2):
            status, raw = _read_response(stream)
            assert status == 200
            assert json.loads(json.loads(raw)["choices"][0]["message"]["content"])["label"] == "violating"
    assert [r.attempt for r in server.requests] == [1, 2]  # same body seen twice


def test_stop_releases_hanging_request() -> None:
    srv = FakeServer().start()
    srv.add_rule("", Fault("timeout", hang_seconds=60))
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "x"}]}).encode()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
        sock.sendall(f"POST /v1/chat/completions HTTP/1.1\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        while srv.count() == 0:
            time.sleep(0.01)
        srv.stop()  # must cancel the 60 s hang instead of waiting for it
        assert sock.recv(100) == b""  # connection closed without a response


def test_cli_subprocess_prints_port_and_serves() -> None:
    script = Path(__file__).with_name("fakeserver.py")
    proc = subprocess.Popen(
        [sys.executable, str(script), "--port", "0", "--latency", "0.01", "--fault-rates", "rate_limit=0.0,server=0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 10)
        assert ready, "server did not print PORT= in time"
        line = proc.stdout.readline().strip()
        assert line.startswith("PORT=")
        port = int(line.removeprefix("PORT="))
        client = openai.OpenAI(api_key="sk-test", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0, timeout=5)
        with client:
            response = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "vermin"}])
        assert json.loads(response.choices[0].message.content or "")["label"] == "violating"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
        if proc.stdout is not None:
            proc.stdout.close()
