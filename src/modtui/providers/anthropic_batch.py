"""Anthropic Message Batches: /v1/messages/batches with each request's Messages API params."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from modtui.domain.verdict import ErrorType
from modtui.providers.anthropic import AnthropicProvider
from modtui.providers.base import Reply, Request
from modtui.providers.batch import BatchProvider, BatchState
from modtui.providers.sdk_errors import MAX_ERROR_CHARS

ERROR_TYPES: dict[str, ErrorType] = {  # the Batch API's error `type` → ours
    "invalid_request_error": ErrorType.BAD_REQUEST,
    "not_found_error": ErrorType.BAD_REQUEST,
    "request_too_large": ErrorType.BAD_REQUEST,
    "authentication_error": ErrorType.AUTH,
    "permission_error": ErrorType.AUTH,
    "billing_error": ErrorType.AUTH,
    "rate_limit_error": ErrorType.RATE_LIMIT,
    "api_error": ErrorType.SERVER,
    "overloaded_error": ErrorType.SERVER,
    "timeout_error": ErrorType.TIMEOUT,
    "gateway_timeout_error": ErrorType.TIMEOUT,
}


class AnthropicBatch(BatchProvider):
    name = "anthropic"
    live_adapter = AnthropicProvider
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
        return AnthropicProvider.parse(result.message.model_dump_json().encode())  # parsed as a live reply body is
    if kind == "errored":
        error = getattr(result.error, "error", None)
        error_type = getattr(error, "type", None) or "api_error"
        message = getattr(error, "message", None) or str(result.error)
        return Reply(
            error_type=ERROR_TYPES.get(error_type, ErrorType.SERVER), error=f"{error_type}: {message}"[:MAX_ERROR_CHARS]
        )
    if kind == "canceled":
        return Reply(error_type=ErrorType.CANCELLED, error="the batch was canceled before this request ran")
    return Reply(error_type=ErrorType.EXPIRED, error="the batch expired before this request ran")
