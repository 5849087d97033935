"""Reasoning is never the verdict: what a reasoning model thought before answering is set aside.

Shapes, as real servers send them in the answer text (reasoning *fields* are never read as the answer at all):
closed `<think>…</think>` blocks (Qwen3, DeepSeek-R1 through Ollama, LM Studio, vLLM without a reasoning parser);
R1's output with only the closing `</think>` (the template opened the block); gpt-oss harmony channels as raw text
(llama.cpp: `<|channel|>analysis<|message|>…<|end|><|start|>assistant<|channel|>final<|message|>…`), and the same
with the special tokens dropped (`analysis…assistantfinal…`).
"""

from __future__ import annotations

import re

_TAGS = "think|thinking|reasoning"
_CLOSED_BLOCK = re.compile(rf"<({_TAGS})>.*?</\1\s*>", re.DOTALL | re.IGNORECASE)
_CLOSE = re.compile(rf"</(?:{_TAGS})\s*>", re.IGNORECASE)
_OPEN = re.compile(rf"<(?:{_TAGS})>", re.IGNORECASE)
_HARMONY_SEGMENT = re.compile(
    r"<\|channel\|>\s*(\w+)[^<]*(?:<\|constrain\|>[^<]*)?<\|message\|>(.*?)"
    r"(?=<\|end\|>|<\|return\|>|<\|call\|>|<\|start\|>|<\|channel\|>|\Z)",
    re.DOTALL,
)
_BARE_HARMONY = re.compile(r"\A\s*analysis.*assistantfinal(.*)\Z", re.DOTALL)


def final_answer(text: str) -> str:
    """The text of the final answer, every reasoning segment removed ('' when the reply holds only reasoning)."""
    text = _harmony_final(text)
    text = _CLOSED_BLOCK.sub("", text)
    closes = list(_CLOSE.finditer(text))
    if closes:  # the opening tag was in the prompt template: everything before the last close was reasoning
        text = text[closes[-1].end() :]
    opened = _OPEN.search(text)
    if opened:  # a block never closed (cut off or runaway reasoning) is not an answer
        text = text[: opened.start()]
    return text


def _harmony_final(text: str) -> str:
    if "<|channel|>" in text:
        segments = [(channel.lower(), body) for channel, body in _HARMONY_SEGMENT.findall(text)]
        finals = [body for channel, body in segments if channel == "final"]
        if finals:
            return finals[-1]
        if segments:  # analysis (and commentary) only: no final answer
            return "\n".join(body for channel, body in segments if channel not in ("analysis", "commentary"))
    bare = _BARE_HARMONY.match(text)
    return bare.group(1) if bare else text
