"""Provider adapters on the real SDK code paths, against tests/fakeserver.py on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modtui.domain.target import Target, offline_target
from modtui.domain.verdict import ErrorType, Outcome
from modtui.policy.classify import classify
from modtui.prompts.loader import LoadedPrompt, load_prompt
from modtui.prompts.render import render
from modtui.providers.base import Provider, Reply, Request
from modtui.providers.registry import provider_class
from modtui.providers.sdk import SdkProvider
from modtui.replay.parsing import parse_reply

try:
    from fakeserver import FakeRequest, FakeServer, Fault
    from fakeserver import Reply as FakeReply
except ImportError:  # tests/ imported as a package
    from tests.fakeserver import FakeRequest, FakeServer, Fault
    from tests.fakeserver import Reply as FakeReply

PROMPTS = Path(__file__).parent / "data" / "workspace" / "prompts" / "toxicity"
APIS = ["openai", "anthropic"]
LABELS = ["toxic", "ok"]


@pytest.fixture(scope="module")
def prompt() -> LoadedPrompt:
    return load_prompt(PROMPTS / "production.yaml")


@pytest.fixture
def server() -> Any:
    with FakeServer() as srv:
        srv.labels = LABELS
        srv.bodies: list[dict[str, Any]] = []  # type: ignore[misc]

        def recording(request: FakeRequest) -> Any:
            """Keeps each request body; toxic when the content (between the markers) names an insult."""
            srv.bodies.append(request.body)  # type: ignore[attr-defined]
            content = request.user_text.split("<content>", 1)[-1].split("</content>", 1)[0].lower()
            return "toxic" if "idiot" in content or "moron" in content else "ok"

        srv.responder = recording
        yield srv


def target(api: str, server: FakeServer, **fields: Any) -> Target:
    base_url = server.openai_base_url if api == "openai" else server.anthropic_base_url
    fields.setdefault("max_retries", 0)
    fields.setdefault("timeout", 5.0)
    return Target(name=f"t-{api}", provider=api, model=f"{api}-test-model", base_url=base_url, **fields)


def adapter(api: str, server: FakeServer, monkeypatch: pytest.MonkeyPatch | None = None, **fields: Any) -> Provider:
    """The registry's adapter for `api`; with monkeypatch, SDK retry back-off is capped at 10 ms."""
    t = target(api, server, **fields)
    provider = provider_class(api)(t, f"sk-test-{api}-key-0000")
    if monkeypatch is not None:
        client = provider.client  # type: ignore[attr-defined]
        original = client._calculate_retry_timeout
        monkeypatch.setattr(client, "_calculate_retry_timeout", lambda *a, **k: min(original(*a, **k), 0.01))
    return provider


async def call(provider: Provider, prompt: LoadedPrompt, content: str) -> Reply:
    messages = render(prompt.template, content)
    try:
        return await provider.complete(Request(messages, content, prompt.template, provider.target.params))
    finally:
        await provider.aclose()


def verdict(reply: Reply):  # type: ignore[no-untyped-def]
    return parse_reply(reply, LABELS)


# ------------------------------------------------------------------ success
@pytest.mark.parametrize("api", APIS)
async def test_adapter_returns_text_usage_finish_reason_latency(
    server: FakeServer, prompt: LoadedPrompt, api: str
) -> None:
    server.latency = 0.05
    reply = await call(adapter(api, server), prompt, "you absolute moron")
    assert not reply.failed and reply.error is None
    assert json.loads(reply.text or "")["label"] == "toxic"
    assert reply.finish_reason == ("stop" if api == "openai" else "end_turn")
    assert reply.tokens_in > 50 and reply.tokens_out > 0  # the fake server counts ~4 characters per token
    assert reply.latency_ms is not None and reply.latency_ms >= 50
    assert reply.raw and json.loads(reply.raw)["model"] == f"{api}-test-model"
    v = verdict(reply)
    assert (v.outcome, v.label, v.confidence) == (Outcome.LABEL, "toxic", 0.9)


@pytest.mark.parametrize("api", APIS)
async def test_messages_sent_as_rendered(server: FakeServer, prompt: LoadedPrompt, api: str) -> None:
    await call(adapter(api, server), prompt, "have a nice day")
    body = server.bodies[-1]  # type: ignore[attr-defined]
    system = render(prompt.template, "have a nice day").system
    if api == "openai":
        assert body["messages"][0] == {"role": "system", "content": system}
        assert (
            body["messages"][1]["role"] == "user"
            and "<content>have a nice day</content>" in body["messages"][1]["content"]
        )
    else:
        assert body["system"] == system and body["max_tokens"] == 1024  # Anthropic requires max_tokens: a default
        assert body["messages"] == [{"role": "user", "content": render(prompt.template, "have a nice day").user}]


@pytest.mark.parametrize("api", APIS)
async def test_params_pass_through_and_unknown_params_reach_the_body(
    server: FakeServer, prompt: LoadedPrompt, api: str
) -> None:
    params = {"temperature": 0.25, "max_tokens": 77, "top_k_experimental": 5, "vendor_flag": {"a": [1, 2]}}
    reply = await call(adapter(api, server, params=params), prompt, "have a nice day")
    assert not reply.failed, reply.error  # no TypeError from an SDK that does not know a keyword (extra_body)
    body = server.bodies[-1]  # type: ignore[attr-defined]
    assert body["temperature"] == 0.25 and body["max_tokens"] == 77
    assert body["top_k_experimental"] == 5 and body["vendor_flag"] == {"a": [1, 2]}


async def test_structured_output_adds_json_schema(server: FakeServer, prompt: LoadedPrompt) -> None:
    schema = {
        "type": "object",
        "properties": {"label": {"enum": LABELS}, "confidence": {"type": "number"}},
        "required": ["label"],
    }
    structured = LoadedPrompt(prompt.template.model_copy(update={"output_schema": schema}), prompt.path, prompt.version)
    await call(adapter("openai", server, structured_output=True), structured, "hi")
    body = server.bodies[-1]  # type: ignore[attr-defined]
    assert body["response_format"] == {"type": "json_schema", "json_schema": {"name": "verdict", "schema": schema}}
    await call(adapter("openai", server, structured_output=False), structured, "hi")
    assert "response_format" not in server.bodies[-1]  # type: ignore[attr-defined]


@pytest.mark.parametrize("api", APIS)
async def test_body_is_what_the_typed_create_sends(server: FakeServer, prompt: LoadedPrompt, api: str) -> None:
    """The adapters post their body through the client; the SDK's typed create() would send the same JSON."""
    schema = {"type": "object", "properties": {"label": {"enum": LABELS}}}
    structured = LoadedPrompt(prompt.template.model_copy(update={"output_schema": schema}), prompt.path, prompt.version)
    params = {"max_tokens": 50, "seed": 7} if api == "openai" else {"max_tokens": 50, "stop_sequences": ["###"]}
    provider = adapter(api, server, structured_output=True, params=params)
    request = Request(render(structured.template, "hi"), "hi", structured.template)
    try:
        assert not (await provider.complete(request)).failed
        via_adapter = server.bodies[-1]  # type: ignore[attr-defined]
        client = provider.client  # type: ignore[attr-defined]
        create = client.chat.completions.create if api == "openai" else client.messages.create
        await create(**provider.body(request))  # type: ignore[attr-defined]
    finally:
        await provider.aclose()
    assert server.bodies[-1] == via_adapter  # type: ignore[attr-defined]
    assert ("response_format" in via_adapter) == (api == "openai")


# ------------------------------------------------------------------ retried faults
@pytest.mark.parametrize("api", APIS)
async def test_rate_limit_twice_then_success(server: FakeServer, prompt: LoadedPrompt, api: str) -> None:
    server.add_rule("moron", Fault("rate_limit", retry_after=0.02), times=2)
    reply = await call(adapter(api, server, max_retries=2), prompt, "you absolute moron")
    assert verdict(reply).label == "toxic"
    assert [r.status for r in server.requests] == [429, 429, 200]


@pytest.mark.parametrize("api", APIS)
async def test_rate_limit_beyond_retries_is_a_typed_error(
    server: FakeServer, prompt: LoadedPrompt, api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.add_rule("moron", Fault("rate_limit", retry_after=0.01))
    reply = await call(adapter(api, server, monkeypatch, max_retries=1), prompt, "moron")
    assert reply.error_type == "rate_limit" and server.count() == 2
    assert verdict(reply).outcome is Outcome.ERROR


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("kind", ["server", "overloaded"])
async def test_server_error_then_success(
    server: FakeServer, prompt: LoadedPrompt, api: str, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.add_rule("moron", Fault(kind), times=1)  # type: ignore[arg-type]
    reply = await call(adapter(api, server, monkeypatch, max_retries=2), prompt, "moron")
    assert verdict(reply).label == "toxic" and server.count() == 2


# ------------------------------------------------------------------ typed errors
@pytest.mark.parametrize("api", APIS)
async def test_timeout_is_typed(server: FakeServer, prompt: LoadedPrompt, api: str) -> None:
    server.add_rule("hang", Fault("timeout", hang_seconds=5))
    reply = await call(adapter(api, server, timeout=0.3), prompt, "hang on")
    assert reply.error_type == "timeout" and reply.text is None
    assert 250 <= (reply.latency_ms or 0) < 3000
    assert verdict(reply).error_type == "timeout"


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(
    "fault, status, error_type",
    [
        (Fault("reset"), None, "connection"),
        (Fault("garbage"), 200, "bad_response"),  # application/json that is not JSON: the SDK raises JSONDecodeError
        (Fault("garbage", content_type="text/html"), 200, "bad_response"),  # the SDK hands back a str
        (Fault("auth"), 401, "auth"),
        (Fault("bad_request"), 400, "bad_request"),
        (Fault("auth", status=403), 403, "auth"),
    ],
)
async def test_faults_become_typed_errors(
    server: FakeServer, prompt: LoadedPrompt, api: str, fault: Fault, status: int | None, error_type: str
) -> None:
    server.add_rule("boom", fault)
    reply = await call(adapter(api, server), prompt, "boom")
    assert reply.error_type == error_type, reply.error
    assert reply.error and len(reply.error) <= 500
    assert server.requests[-1].status == status
    v = verdict(reply)
    assert (v.outcome, v.error_type, v.label) == (Outcome.ERROR, error_type, None)


@pytest.mark.parametrize(
    "api, body",
    [
        ("openai", '{"choices": []}'),
        ("openai", '{"choices": [{"message": "toxic"}]}'),
        ("openai", '{"id": "x"}'),
        ("anthropic", '{"content": "toxic", "stop_reason": "end_turn"}'),
        ("anthropic", '{"id": "x"}'),
        *((api, body) for api in APIS for body in ('["toxic"]', "", "null", '{"choices": [1], "content": [1]}')),
    ],
)
async def test_unexpected_json_is_bad_response(server: FakeServer, prompt: LoadedPrompt, api: str, body: str) -> None:
    server.add_rule("odd", Fault("garbage", body=body))
    reply = await call(adapter(api, server), prompt, "odd")
    assert reply.error_type == "bad_response" and verdict(reply).outcome is Outcome.ERROR


@pytest.mark.parametrize("api, status", [("anthropic", 529), ("openai", 503)])
async def test_overloaded_exhausted_is_server(server: FakeServer, prompt: LoadedPrompt, api: str, status: int) -> None:
    server.add_rule("busy", Fault("overloaded"))
    reply = await call(adapter(api, server), prompt, "busy")
    assert reply.error_type == "server" and server.requests[-1].status == status


@pytest.mark.parametrize("api", APIS)
async def test_client_errors_are_not_retried(server: FakeServer, prompt: LoadedPrompt, api: str) -> None:
    server.add_rule("nope", Fault("bad_request"))
    reply = await call(adapter(api, server, max_retries=3), prompt, "nope")
    assert reply.error_type == "bad_request" and server.count() == 1


async def test_missing_anthropic_key_is_auth(
    server: FakeServer, prompt: LoadedPrompt, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    provider = provider_class("anthropic")(target("anthropic", server), None)
    reply = await call(provider, prompt, "hi")
    assert reply.error_type is ErrorType.AUTH and server.count() == 0
    assert "api_key_env" in (reply.error or "") and "ANTHROPIC_API_KEY" in (reply.error or "")


async def test_anthropic_gateway_auth_header_is_credentials(
    server: FakeServer, prompt: LoadedPrompt, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No key, but a gateway's own auth header (the SDK's ANTHROPIC_CUSTOM_HEADERS): the call is made."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("ANTHROPIC_CUSTOM_HEADERS", "X-Api-Key: gateway-issued")
    provider = provider_class("anthropic")(target("anthropic", server), None)
    reply = await call(provider, prompt, "hi")
    assert not reply.failed and server.count() == 1, reply.error


@pytest.mark.parametrize("sdk", APIS)
def test_sdk_errors_are_classified_by_their_class(sdk: str) -> None:
    """Each adapter tests its own SDK's exception classes: a status error's kind is its status code whatever its
    message says, and an exception that only shares a name or words with an SDK error is internal."""
    import importlib

    import httpx2

    module = importlib.import_module(sdk)
    other = importlib.import_module("anthropic" if sdk == "openai" else "openai")
    classify_exception = sdk_adapter(sdk).classify
    request = httpx2.Request("POST", "http://127.0.0.1:9/v1/x")

    def status_error(cls: Any, status: int, message: str) -> BaseException:
        return cls(message, response=httpx2.Response(status, request=request), body=None)

    assert classify_exception(status_error(module.RateLimitError, 429, "authentication"))[0] is ErrorType.RATE_LIMIT
    assert classify_exception(status_error(module.AuthenticationError, 401, "timed out"))[0] is ErrorType.AUTH
    assert classify_exception(status_error(module.InternalServerError, 500, "x"))[0] is ErrorType.SERVER
    assert classify_exception(status_error(module.NotFoundError, 404, "x"))[0] is ErrorType.CONFIG
    assert classify_exception(module.APIConnectionError(request=request))[0] is ErrorType.CONNECTION
    assert (
        classify_exception(module.APIResponseValidationError(httpx2.Response(200, request=request), None))[0]
        is ErrorType.BAD_RESPONSE
    )

    class APITimeoutError(Exception):  # the SDK's name, not its class
        pass

    assert classify_exception(APITimeoutError("timed out"))[0] is ErrorType.INTERNAL
    assert classify_exception(TypeError("Could not resolve authentication method"))[0] is ErrorType.INTERNAL
    assert classify_exception(other.APITimeoutError(request=request))[0] is ErrorType.INTERNAL  # the other SDK's


def test_anthropic_credentials_that_do_not_load_are_auth() -> None:
    import anthropic

    kind, message = sdk_adapter("anthropic").classify(anthropic.CredentialsError("profile 'ops' has no token"))
    assert kind is ErrorType.AUTH and "profile 'ops'" in message


@pytest.mark.parametrize("sdk", APIS)
def test_exception_classification(sdk: str) -> None:
    classify_exception = sdk_adapter(sdk).classify
    assert classify_exception(TimeoutError())[0] is ErrorType.TIMEOUT
    assert classify_exception(json.JSONDecodeError("x", "doc", 0))[0] is ErrorType.BAD_RESPONSE
    assert classify_exception(RuntimeError("odd"))[0] is ErrorType.INTERNAL
    assert len(classify_exception(RuntimeError("x" * 2000))[1]) == 500


def sdk_adapter(sdk: str) -> type[SdkProvider]:
    cls = provider_class(sdk)
    assert issubclass(cls, SdkProvider)
    return cls


@pytest.mark.parametrize("sdk", ["openai", "anthropic"])
@pytest.mark.parametrize(
    "cause, error_type",
    [
        ("ServerDisconnectedError", "connection"),
        ("ClientOSError", "connection"),
        ("SocketTimeoutError", "timeout"),
        ("ServerTimeoutError", "timeout"),
    ],
)
def test_aiohttp_transport_errors_keep_their_kind(sdk: str, cause: str, error_type: str) -> None:
    """The SDKs' aiohttp transport reports every aiohttp connection error as httpx's ConnectTimeout, so the SDK
    raises APITimeoutError; the cause chain says whether it timed out or the connection failed."""
    import importlib

    import aiohttp
    import httpx2

    module = importlib.import_module(sdk)
    request = httpx2.Request("POST", "http://127.0.0.1:9/v1/x")
    error = module.APITimeoutError(request=request)
    mapped = httpx2.ConnectTimeout("mapped")
    mapped.__cause__ = getattr(aiohttp, cause)()
    error.__cause__ = mapped
    classify_exception = sdk_adapter(sdk).classify
    assert classify_exception(error)[0] == error_type
    assert classify_exception(module.APITimeoutError(request=request))[0] is ErrorType.TIMEOUT  # no cause: a timeout


# ------------------------------------------------------------------ reply shapes
async def test_anthropic_thinking_and_tool_use_blocks_before_text(server: FakeServer, prompt: LoadedPrompt) -> None:
    blocks = (
        {"type": "thinking", "thinking": "the user insults someone", "signature": "sig"},
        {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "moron"}},
    )
    server.add_rule("moron", FakeReply(text='{"label": "toxic", "confidence": 0.7}', blocks=blocks))
    reply = await call(adapter("anthropic", server), prompt, "you moron")
    assert reply.text == '\n{"q": "moron"}\n{"label": "toxic", "confidence": 0.7}'  # tool input, then the text
    assert (verdict(reply).label, verdict(reply).confidence) == ("toxic", 0.7)


@pytest.mark.parametrize("api, reason", [("openai", "length"), ("anthropic", "max_tokens")])
async def test_truncated_reply(server: FakeServer, prompt: LoadedPrompt, api: str, reason: str) -> None:
    long = json.dumps({"label": "toxic", "confidence": 0.9, "rationale": "because " * 40})
    server.add_rule("moron", FakeReply(text=long))
    reply = await call(adapter(api, server, params={"max_tokens": 10}), prompt, "moron")
    assert reply.finish_reason == reason and not reply.failed
    v = verdict(reply)
    assert v.outcome is Outcome.TRUNCATED and v.label is None


@pytest.mark.parametrize("api", APIS)
async def test_refusal_reply(server: FakeServer, prompt: LoadedPrompt, api: str) -> None:
    server.add_rule("moron", FakeReply(refusal="I can't help with that."))
    reply = await call(adapter(api, server), prompt, "moron")
    assert verdict(reply).outcome is Outcome.REFUSAL


@pytest.mark.parametrize("api", APIS)
async def test_fenced_reply_with_prose(server: FakeServer, prompt: LoadedPrompt, api: str) -> None:
    server.add_rule("moron", FakeReply(text='Sure.\n```json\n{"label": "TOXIC", "confidence": "80%"}\n```\nDone.'))
    v = verdict(await call(adapter(api, server), prompt, "moron"))
    assert (v.outcome, v.label, v.confidence) == (Outcome.LABEL, "toxic", 0.8)


# ------------------------------------------------------------------ offline rules baseline
@pytest.mark.parametrize(
    "content",
    ["you absolute moron", "I will hurt you", "have a nice day", '"you idiot" was wrong to say', "i'm an idiot lol"],
)
async def test_rules_provider_gives_the_classifiers_verdict(
    prompt: LoadedPrompt, content: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    cls = provider_class("rules")
    assert cls.needs_key is False
    reply = await call(cls(offline_target(), None), prompt, content)
    expected = classify(content, prompt.template.policy, prompt.template.labels, positive_label="toxic")
    v = verdict(reply)
    assert not reply.failed and (v.outcome, v.label, v.confidence) == (
        Outcome.LABEL,
        expected.label,
        expected.confidence,
    )
    assert v.rationale == expected.rationale
    assert reply.text is None  # the verdict is the whole answer (its columns hold it): no JSON text to store twice


async def test_rules_provider_follows_policy_edits(prompt: LoadedPrompt) -> None:
    candidate = load_prompt(PROMPTS / "candidate.yaml")
    provider = provider_class("rules")(offline_target(), None)
    assert verdict(await call(provider, prompt, "i'm an idiot lol")).label == "toxic"
    assert verdict(await call(provider, candidate, "i'm an idiot lol")).label == "ok"


def test_registry_unknown_provider() -> None:
    from modtui.errors import ProviderError

    with pytest.raises(ProviderError, match="unknown provider 'nope'"):
        provider_class("nope")


@pytest.mark.parametrize("api", APIS)
def test_the_first_client_moves_what_is_loaded_out_of_the_collectors_sight(api: str, server: FakeServer) -> None:
    """Building the first SDK client freezes what the process holds (the SDK's modules): no full collection walks
    them later (at the first wave of calls). Once per process."""
    import gc

    from modtui.providers import sdk

    sdk._spare_loaded_modules.cache_clear()
    gc.unfreeze()
    collecting_when_frozen = []
    real_freeze = gc.freeze

    def freeze() -> None:
        collecting_when_frozen.append(gc.isenabled())
        real_freeze()

    try:
        provider = adapter(api, server)
        assert gc.get_freeze_count() == 0
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(gc, "freeze", freeze)
            provider.prepare()
        frozen = gc.get_freeze_count()
        assert frozen > 1000
        # frozen while the collector is still paused: re-enabled first, its next collection walked the SDK's
        # hundreds of thousands of young objects (~30 ms, as the first calls left)
        assert collecting_when_frozen == [False]
        adapter(api, server).prepare()
        assert gc.get_freeze_count() == frozen  # not again
    finally:
        gc.unfreeze()
