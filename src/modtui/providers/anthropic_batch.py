"""Anthropic Message Batches: /v1/messages/batches with each request's Messages API params."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from modtui.providers.anthropic import AnthropicProvider, _reply
from modtui.providers.base import Reply, Request
from modtui.providers.batch import BatchProvider, BatchState
from modtui.providers.sdk_errors import MAX_ERROR_CHARS

ERROR_TYPES = {
    "invalid_request_error": "bad_request",
    "not_found_error": "bad_request",
    "request_too_large": "bad_request",
    "authentication_error": "auth",
    "permission_error": "auth",
    "billing_error": "auth",
    "rate_limit_error": "rate_limit",
    "api_error": "server",
    "overloaded_error": "server",
    "timeout_error": "timeout",
    "gateway_timeout_error": "timeout",
}


class AnthropicBatch(BatchProvider):
    name = "anthropic"
    max_requests = 100_000  # the API's limit per batch

    def __init__(self, target, api_key):  # type: ignore[no-untyped-def]
        super().__init__(target, api_key)
        self.live = AnthropicProvider(target, api_key)  # the same client settings and params as a live call
        self.client = self.live.client

    async def submit(self, requests: Sequence[tuple[str, Request]]) -> str:
        batch = await self.client.messages.batches.create(
            requests=[{"custom_id": cid, "params": self.live.body(r)} for cid, r in requests]
        )
        return batch.id

    async def state(self, batch_id: str) -> BatchState:
        batch = await self.client.messages.batches.retrieve(batch_id)
        counts = batch.request_counts.model_dump() if batch.request_counts else {}
        return BatchState(batch.processing_status, batch.processing_status == "ended", None, counts)

    async def results(self, batch_id: str) -> AsyncIterator[tuple[str, Reply]]:
        async for entry in await self.client.messages.batches.results(batch_id):
            yield entry.custom_id, _result(entry.result)

    async def aclose(self) -> None:
        await self.live.aclose()


def _result(result: Any) -> Reply:
    kind = getattr(result, "type", None)
    if kind == "succeeded":
        return _reply(result.message.model_dump_json().encode())  # parsed as a live reply body is
    if kind == "errored":
        error = getattr(result.error, "error", None)
        error_type = getattr(error, "type", None) or "api_error"
        message = getattr(error, "message", None) or str(result.error)
        return Reply(
            error_type=ERROR_TYPES.get(error_type, "server"), error=f"{error_type}: {message}"[:MAX_ERROR_CHARS]
        )
    if kind == "canceled":
        return Reply(error_type="cancelled", error="the batch was canceled before this request ran")
    return Reply(error_type="expired", error="the batch expired before this request ran")
