"""The OpenAI Batch API: a JSONL file of chat-completion requests uploaded to /v1/files, then /v1/batches."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

from modtui.domain.verdict import ErrorType
from modtui.providers.base import Reply, Request, status_error_type
from modtui.providers.batch import BatchProvider, BatchState
from modtui.providers.openai import OpenAIProvider
from modtui.providers.sdk_errors import MAX_ERROR_CHARS

ENDPOINT = "/v1/chat/completions"
ENDED = ("completed", "failed", "expired", "cancelled")


class OpenAIBatch(BatchProvider):
    name = "openai"
    live_adapter = OpenAIProvider
    max_requests = 50_000  # the API's limit per batch

    def __init__(self, target, api_key):  # type: ignore[no-untyped-def]
        super().__init__(target, api_key)
        self.live = OpenAIProvider(target, api_key)  # the same client settings and request body as a live call
        self.client = self.live.client

    async def submit(self, requests: Sequence[tuple[str, Request]]) -> str:
        lines = (
            json.dumps(
                {"custom_id": cid, "method": "POST", "url": ENDPOINT, "body": self.live.body(r)}, ensure_ascii=False
            )
            + "\n"
            for cid, r in requests
        )
        data = "".join(lines).encode()
        upload = await self.client.files.create(file=("modtui-batch.jsonl", data, "application/jsonl"), purpose="batch")
        batch = await self.client.batches.create(
            input_file_id=upload.id, endpoint=ENDPOINT, completion_window="24h", metadata={"client": "modtui"}
        )
        return batch.id

    async def state(self, batch_id: str) -> BatchState:
        batch = await self.client.batches.retrieve(batch_id)
        failed = None
        if batch.status == "failed":
            errors = batch.errors.data if batch.errors and batch.errors.data else []
            failed = "; ".join(e.message or e.code or "" for e in errors) or "the batch failed"
        counts = batch.request_counts.model_dump() if batch.request_counts else {}
        return BatchState(batch.status, batch.status in ENDED, failed, counts)

    async def results(self, batch_id: str) -> AsyncIterator[tuple[str, Reply]]:
        batch = await self.client.batches.retrieve(batch_id)
        for file_id in (batch.output_file_id, batch.error_file_id):  # answers, then failed and expired requests
            if not file_id:
                continue
            async with self.client.files.with_streaming_response.content(file_id) as response:
                async for line in response.iter_lines():
                    if line.strip():
                        yield _entry(json.loads(line))

    async def aclose(self) -> None:
        await self.live.aclose()


def _entry(entry: dict[str, Any]) -> tuple[str, Reply]:
    """One line of an output or error file → (custom_id, reply)."""
    custom_id = str(entry.get("custom_id"))
    error = entry.get("error")
    if error:
        kind = ErrorType.EXPIRED if error.get("code") == "batch_expired" else ErrorType.SERVER
        return custom_id, Reply(error_type=kind, error=f"{error.get('code')}: {error.get('message')}"[:MAX_ERROR_CHARS])
    response = entry.get("response") or {}
    status, body = response.get("status_code"), response.get("body")
    if status == 200 and isinstance(body, dict):
        return custom_id, OpenAIProvider.parse(json.dumps(body).encode())  # parsed as a live reply body is
    message = body.get("error", {}).get("message") if isinstance(body, dict) else None
    return custom_id, Reply(
        error_type=status_error_type(status),
        error=f"{status}: {message or body}"[:MAX_ERROR_CHARS],
        raw=json.dumps(body) if body is not None else None,
    )
