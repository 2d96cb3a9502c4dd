"""Generate stage: one teacher request per seed, answers journaled as they arrive, then joined with the seeds.

Resume: `responses.jsonl` in the run folder holds every answered row; a rerun sends only the others. The run
folder is named by a fingerprint of the seeds and of the teacher, prompt and decoding settings, so a changed recipe
writes to a new folder instead of mixing outputs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator

from dataset_builder import prompts
from dataset_builder.config import BuilderConfig
from dataset_builder.runs import DropCounter, RunDir
from dataset_builder.stages.base import Stage
from dataset_builder.teacher import get_backend
from dataset_builder.teacher.base import Accounting, Request, TeacherError, TeacherSettings, estimate_tokens
from dataset_builder.teacher.pricing import Prices
from oss_common.journal import Journal

logger = logging.getLogger(__name__)

LOCAL_TEACHER = "local/SmolLM2-135M-Instruct-Q4_1"
RESPONSE_COLUMNS = {
    "response": "string",
    "finish_reason": "string",
    "teacher_model": "string",
    "system_fingerprint": "string",
    "prompt_tokens": "int64",
    "completion_tokens": "int64",
    "latency_s": "float64",
    "attempts": "int64",
}


class StopRequested(Exception):
    """A dry run or an export-only run has done what was asked: nothing further runs."""


def uses_local_teacher(config: BuilderConfig) -> bool:
    configured = config.teacher_base_url or os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_KEY")
    return config.local_teacher and not configured


def backend_name(config: BuilderConfig) -> str:
    """The teacher backend: the recipe's, or `guided_local` for the local toy teacher when it is steered."""
    return "guided_local" if uses_local_teacher(config) and config.local_teacher_guided else config.teacher_backend


def teacher_name(config: BuilderConfig) -> str:
    """The teacher as it enters the fingerprint."""
    if uses_local_teacher(config):
        return f"{LOCAL_TEACHER}-guided" if backend_name(config) == "guided_local" else LOCAL_TEACHER
    return config.teacher_model


def max_tokens(config: BuilderConfig) -> int:
    """The recipe's max_tokens; the local toy teacher gets `local_teacher_max_tokens` at most (it is slow on CPU)."""
    if uses_local_teacher(config):
        return min(config.max_tokens, config.local_teacher_max_tokens)
    return config.max_tokens


def teacher_settings(config: BuilderConfig, model: str, base_url: str | None) -> TeacherSettings:
    """What the backend reads from the recipe, for the teacher at `model` and `base_url`."""
    return TeacherSettings(
        model=model,
        base_url=base_url,
        temperature=config.temperature,
        top_p=config.top_p,
        concurrency=config.concurrency,
        request_timeout=config.request_timeout,
        max_retries=config.max_retries,
        seed=config.seed,
        chunk_size=config.vllm_chunk_size,
        batch_completion_window=config.batch_completion_window,
        batch_max_requests=config.batch_max_requests,
        batch_poll_interval=config.batch_poll_interval,
    )


def build_requests(seeds, config: BuilderConfig, done: set[int]) -> Iterator[Request]:
    for row in seeds:
        if row["raw_index"] in done:
            continue
        messages = prompts.messages(row["seed"])
        limit = max_tokens(config)
        if config.teacher_context_length:
            limit = max(1, min(limit, config.teacher_context_length - estimate_tokens(messages)))
        yield Request(row["raw_index"], messages, config.seed + row["raw_index"], limit)


@contextlib.contextmanager
def teacher_endpoint(config: BuilderConfig, run_dir: RunDir):
    """(model, base_url) of the teacher; serves the local toy teacher for the duration when asked to."""
    if not uses_local_teacher(config):
        yield config.teacher_model, config.teacher_base_url
        return
    from dataset_builder.teacher import local_server as local_teacher

    steered = (
        "its answers are steered into the two sections (local_teacher_guided), so rows parse but are of toy quality"
        if config.local_teacher_guided
        else "expect few or no parsable rows"
    )
    logger.warning(
        "No OPENAI_BASE_URL/OPENAI_API_KEY/teacher_base_url set: serving SmolLM2-135M-Instruct locally. It is far too "
        "weak to follow the OSS-Instruct prompt: %s. This only exercises the pipeline; point the builder at a real "
        "teacher to make real data.",
        steered,
    )
    model_dir = local_teacher.smollm2_model_dir(local_teacher.default_cache_dir())
    # The guided teacher sends plain completions, which `transformers serve` batches across concurrent requests.
    extra = ["--continuous-batching"] if backend_name(config) == "guided_local" else []
    with local_teacher.serve(model_dir, log_path=run_dir.path / "local_teacher.log", extra_args=extra) as server:
        yield server.model, server.base_url


def read_answers(path) -> list[dict]:
    """The answers journaled at `path`, read without opening the journal for writing (a torn last line is left out)."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.endswith("\n"):
                break
            rows.append(json.loads(line))
    return rows


def prices_for(config: BuilderConfig) -> Prices:
    return Prices(
        teacher_name(config),
        config.price_input_per_million,
        config.price_output_per_million,
        batch=config.teacher_backend == "openai_batch",
    )


def estimate(config: BuilderConfig, seeds, answered: list[dict], prices: Prices) -> dict:
    """Token and cost estimate of the requests not answered yet. Completion tokens per row: the mean of the answered
    rows once there are 20, else `expected_completion_tokens`; never more than a request's max_tokens."""
    done = {row["raw_index"] for row in answered}
    pending = list(build_requests(seeds, config, done))
    prompt_tokens = sum(estimate_tokens(r.messages) for r in pending)
    measured = [row["completion_tokens"] for row in answered if row.get("completion_tokens")]
    per_row = sum(measured) / len(measured) if len(measured) >= 20 else config.expected_completion_tokens
    completion_tokens = int(sum(min(per_row, r.max_tokens) for r in pending))
    return {
        "requests": len(pending),
        "already_answered": len(done),
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "completion_tokens_per_row": completion_tokens / len(pending) if pending else per_row,
        "completion_estimate_from": "answered rows" if len(measured) >= 20 else "expected_completion_tokens",
        "max_tokens": max_tokens(config),
        "cost_usd": prices.cost(prompt_tokens, completion_tokens),
    }


def print_estimate(config: BuilderConfig, seeds, answered: list[dict]) -> dict:
    """Print the estimate of what the generate stage still has to send; nothing is sent."""
    est = estimate(config, seeds, answered, prices_for(config))
    cost = (
        f"unknown (set price_input_per_million / price_output_per_million, USD per 1M tokens: no known price for "
        f"{teacher_name(config)!r})"
    )
    if est["cost_usd"] is not None:
        cost = f"${est['cost_usd']:,.2f}" if est["cost_usd"] >= 1 else f"${est['cost_usd']:.4f}"
    print(
        f"Dry run of {teacher_name(config)} ({config.teacher_backend}): {est['requests']} requests to send "
        f"({est['already_answered']} already answered)\n"
        f"  prompt tokens     ~{est['prompt_tokens']:,}\n"
        f"  completion tokens ~{est['completion_tokens']:,} ({est['completion_tokens_per_row']:.0f}/row from "
        f"{est['completion_estimate_from']}, max_tokens {est['max_tokens']})\n"
        f"  cost              ~{cost}\n"
        "Nothing was sent."
    )
    return est


def batch_files(config: BuilderConfig, seeds, run_dir: RunDir, journal: Journal, accounting: Accounting) -> None:
    """Journal Batch results files given in the recipe; with `batch_write_only`, write the input files and stop."""
    from glob import glob

    from tqdm.auto import tqdm

    from dataset_builder.teacher.batch import collect_results_file, write_input_files

    if config.batch_results_files:
        paths = sorted(glob(os.path.expanduser(config.batch_results_files)))
        if not paths:
            raise TeacherError(f"batch_results_files {config.batch_results_files!r} matches no file.")
        with tqdm(total=len(seeds), initial=len(journal.done), desc="generate: results files", unit="row") as bar:
            for path in paths:
                ok, failed = collect_results_file(path, journal, accounting, bar)
                logger.info("generate: %s: %d answers journaled, %d failed lines", path, ok, failed)
    if config.batch_write_only:
        folder = run_dir.path / "batch-export"
        folder.mkdir(parents=True, exist_ok=True)
        body = (teacher_name(config), config.temperature, config.top_p)
        pending = list(build_requests(seeds, config, journal.done))
        written = write_input_files(pending, folder, 0, body, config.batch_max_requests)
        first = folder / next(iter(written), "input-00000.jsonl")
        print(
            f"Wrote {len(pending)} requests in {len(written)} Batch input files to {folder}\n"
            "Run them with vLLM (or upload them to the OpenAI Batch API), for example:\n"
            f"  python -m vllm.entrypoints.openai.run_batch -i {first} -o {folder}/results-00000.jsonl "
            f"--model {teacher_name(config)}\n"
            f"then rerun this command with --batch_write_only false --batch_results_files '{folder}/results-*.jsonl'."
        )
        raise StopRequested(written)


def run(config: BuilderConfig, run_dir: RunDir, upstream: RunDir) -> None:
    from datasets import Dataset, Features, Value, concatenate_datasets
    from tqdm.auto import tqdm

    seeds = upstream.load()
    journal = Journal(run_dir.path / "responses.jsonl")
    if config.dry_run:  # the CLI's dry run does not get here (preflight.dry_run); a direct call stops here
        raise StopRequested(print_estimate(config, seeds, read_answers(journal.path) if journal.path.exists() else []))
    with journal:
        accounting = Accounting(prices_for(config))
        for row in journal.rows():
            accounting.add(row)
        if config.teacher_backend == "openai_batch" and (config.batch_results_files or config.batch_write_only):
            batch_files(config, seeds, run_dir, journal, accounting)
        pending_count = len(seeds) - len(journal.done & set(range(len(seeds))))
        if pending_count and config.batch_results_files:
            raise TeacherError(
                f"{pending_count} rows have no answer in batch_results_files; write their requests with "
                "--batch_write_only true (only unanswered rows are written), run them, and add the new results."
            )
        logger.info("generate: %d rows answered before, %d to request", len(journal.done), pending_count)
        if pending_count:
            with teacher_endpoint(config, run_dir) as (model, base_url):
                backend = get_backend(backend_name(config))(teacher_settings(config, model, base_url), run_dir)
                requests = build_requests(seeds, config, journal.done)
                with tqdm(
                    total=len(seeds),
                    initial=len(seeds) - pending_count,
                    desc="generate",
                    unit="row",
                    dynamic_ncols=True,
                ) as progress:
                    progress.set_postfix(accounting.postfix(), refresh=False)
                    backend.run(requests, pending_count, journal, accounting, progress)

    features = Features({"raw_index": Value("int64")} | {k: Value(v) for k, v in RESPONSE_COLUMNS.items()})
    rows = sorted(journal.rows(), key=lambda row: row["raw_index"])
    answers = Dataset.from_dict({k: [row.get(k) for row in rows] for k in features}, features=features)
    if answers["raw_index"] != seeds["raw_index"]:
        raise RuntimeError(f"journal {journal.path} does not cover the seeds exactly; delete it to start over.")
    dataset = concatenate_datasets([seeds, answers.remove_columns("raw_index")], axis=1)
    empty_rejects = Dataset.from_dict({"raw_index": [], "reason": []})
    counts = DropCounter(kept=len(dataset))
    run_dir.save(dataset, empty_rejects, counts, teacher=teacher_name(config), usage=accounting.as_dict())
    cost = accounting.cost
    logger.info(
        "generate: %d rows, %d prompt + %d completion tokens%s -> %s",
        len(dataset),
        accounting.prompt_tokens,
        accounting.completion_tokens,
        "" if cost is None else f", ${cost:.4f}",
        run_dir.dataset_path,
    )


class Generate(Stage):
    """Asks the teacher for a problem and solution per seed, resumably."""

    name = "generate"
    version = 1
    run = staticmethod(run)

    def fingerprint_inputs(self, config: BuilderConfig) -> dict:
        return super().fingerprint_inputs(config) | {
            "teacher_model": teacher_name(config),
            "max_tokens": max_tokens(config),
            "system_prompt": prompts.SYSTEM,
            "user_template": prompts.USER_TEMPLATE,
        }
