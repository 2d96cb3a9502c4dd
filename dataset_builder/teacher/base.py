"""The one interface every teacher backend implements, and what they share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field

from dataset_builder.teacher.pricing import Prices

# Rough characters per token for code and English prose; used only for estimates (dry run, context clipping).
CHARS_PER_TOKEN = 3.5
MESSAGE_OVERHEAD_TOKENS = 4
# A Batch line's custom_id is this prefix and the row's raw_index (the generate stage's; other stages add their name).
CUSTOM_ID_PREFIX = "row-"


class TeacherError(RuntimeError):
    """A failure that retrying cannot fix; the message says what to change. Stored answers are kept."""


@dataclass(frozen=True)
class Request:
    raw_index: int
    messages: list[dict[str, str]]
    seed: int
    max_tokens: int
    # The row's language, for a backend that steers the answer into a code block of it (the guided local tests
    # teacher); never sent to a server.
    language: str | None = None

    def body(self, model: str, temperature: float, top_p: float | None) -> dict:
        """The chat-completions request body (the same for live requests and Batch API lines)."""
        body = {
            "model": model,
            "messages": self.messages,
            "temperature": temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
        }
        if top_p is not None:
            body["top_p"] = top_p
        return body


def estimate_tokens(messages: list[dict[str, str]]) -> int:
    return sum(MESSAGE_OVERHEAD_TOKENS + int(len(m["content"]) / CHARS_PER_TOKEN) for m in messages)


def completion_row(raw_index: int, completion: dict, latency_s: float | None, attempts: int) -> dict:
    """A journal row from a chat-completion response body (a dict, as the API returns it)."""
    choice = completion["choices"][0]
    usage = completion.get("usage") or {}
    return {
        "raw_index": raw_index,
        "response": (choice.get("message") or {}).get("content") or "",
        "finish_reason": choice.get("finish_reason"),
        "teacher_model": completion.get("model"),
        "system_fingerprint": completion.get("system_fingerprint"),
        "prompt_tokens": usage.get("prompt_tokens"),
        "completion_tokens": usage.get("completion_tokens"),
        "latency_s": latency_s,
        "attempts": attempts,
    }


@dataclass
class Accounting:
    """Running token and dollar totals, shown on the progress bar and saved in the stage stats."""

    prices: Prices
    rows: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    finish_reasons: dict = field(default_factory=dict)

    def add(self, row: dict) -> None:
        self.rows += 1
        self.prompt_tokens += row.get("prompt_tokens") or 0
        self.completion_tokens += row.get("completion_tokens") or 0
        self.retries += max(0, (row.get("attempts") or 1) - 1)
        reason = row.get("finish_reason")
        self.finish_reasons[reason] = self.finish_reasons.get(reason, 0) + 1

    @property
    def cost(self) -> float | None:
        return self.prices.cost(self.prompt_tokens, self.completion_tokens)

    def postfix(self) -> dict:
        cost = self.cost
        return {
            "tok_in": self.prompt_tokens,
            "tok_out": self.completion_tokens,
            "usd": "n/a" if cost is None else f"{cost:.4f}",
            "retries": self.retries,
        }

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "retries": self.retries,
            "cost_usd": self.cost,
            "finish_reasons": {str(k): v for k, v in self.finish_reasons.items()},
        }


@dataclass
class TeacherSettings:
    """Everything a backend reads, resolved from the recipe by the generate stage (the model may be a local server's).

    A backend never reads the recipe itself; the defaults below are the recipe's.
    """

    model: str
    base_url: str | None
    temperature: float
    top_p: float | None
    concurrency: int
    request_timeout: float
    max_retries: int
    seed: int = 976  # the engine's seed (vllm); every request carries its own, seed + raw_index
    chunk_size: int = 1_000  # vllm: rows per chunk between journal writes
    batch_completion_window: str = "24h"
    batch_max_requests: int = 50_000  # requests per Batch input file
    batch_poll_interval: float = 60.0  # seconds between Batch status polls
    custom_id_prefix: str = CUSTOM_ID_PREFIX  # Batch lines: `<prefix><raw_index>`


class TeacherBackend(ABC):
    """Sends requests and appends one journal row per answered request as answers arrive.

    `run` must be resumable: it is only given the requests whose answers are not in the journal yet, and must not
    append a row twice. Failures that retrying cannot fix raise `TeacherError`.
    """

    def __init__(self, settings: TeacherSettings, run_dir):
        self.settings = settings
        self.run_dir = run_dir  # the generate stage's run folder: a backend may keep its own state there

    @abstractmethod
    def run(self, requests: Iterable[Request], total: int, journal, accounting: Accounting, progress) -> None: ...
