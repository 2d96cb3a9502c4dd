"""Generate stage: one teacher request per seed, answers journaled as they arrive, then joined with the seeds.

Resume: `responses.jsonl` in the run folder holds every answered row; a rerun sends only the others. The run
folder is named by a fingerprint of the seeds and of the teacher, prompt and decoding settings, so a changed recipe
writes to a new folder instead of mixing outputs.

The machinery is shared with the other stages that ask the teacher (`stages/tests.py`): a stage describes its requests
as a `TeacherJob` and `ask` journals an answer for each (stored answers, Batch results files, the chosen backend, the
local toy teacher), or prints the dry run's estimate.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from dataset_builder import prompts
from dataset_builder.config import BuilderConfig
from dataset_builder.runs import DropCounter, RunDir
from dataset_builder.stages.base import Stage
from dataset_builder.teacher import get_backend
from dataset_builder.teacher.base import (
    CUSTOM_ID_PREFIX,
    Accounting,
    Request,
    TeacherError,
    TeacherSettings,
    estimate_tokens,
)
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


# A Batch custom_id of this builder: `row-<raw_index>` (generate) or `<stage>-row-<raw_index>` (the other stages).
BUILDER_CUSTOM_ID = re.compile(r"^(?:[a-z]+-)?row-\d+$")
GUIDED_BACKENDS = ("guided_local", "guided_local_tests", "guided_local_solutions")


class StopRequested(Exception):
    """A dry run or an export-only run has done what was asked: nothing further runs."""


@dataclass(frozen=True)
class TeacherJob:
    """One stage's requests to the teacher, as the shared machinery below needs them."""

    stage: str  # names the progress bar and the log lines
    journal: str  # the journal's file name in the run folder
    backend: str  # a name in teacher.BACKENDS
    teacher: str  # the teacher as it enters the fingerprint
    max_tokens: int
    expected_completion_tokens: int  # the dry run's completion tokens per row until 20 rows are answered
    expected_field: str  # the recipe field that sets it, named by the dry run
    keys: tuple[int, ...]  # raw_index of every row to be answered
    requests: Callable[[set[int]], Iterator[Request]]  # the requests of the rows not in the given set
    custom_id_prefix: str = CUSTOM_ID_PREFIX  # Batch lines: tells this stage's results files from another's
    temperature: float | None = None  # the stage's own sampling temperature (None: the recipe's `temperature`)


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


def teacher_settings(
    config: BuilderConfig,
    model: str,
    base_url: str | None,
    custom_id_prefix: str = CUSTOM_ID_PREFIX,
    temperature: float | None = None,
) -> TeacherSettings:
    """What the backend reads from the recipe, for the teacher at `model` and `base_url` (at `temperature`, or the
    recipe's)."""
    return TeacherSettings(
        model=model,
        base_url=base_url,
        temperature=config.temperature if temperature is None else temperature,
        top_p=config.top_p,
        concurrency=config.concurrency,
        request_timeout=config.request_timeout,
        max_retries=config.max_retries,
        seed=config.seed,
        chunk_size=config.vllm_chunk_size,
        batch_completion_window=config.batch_completion_window,
        batch_max_requests=config.batch_max_requests,
        batch_poll_interval=config.batch_poll_interval,
        custom_id_prefix=custom_id_prefix,
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
def teacher_endpoint(config: BuilderConfig, run_dir: RunDir, backend: str | None = None):
    """(model, base_url) of the teacher; serves the local toy teacher for the duration when asked to. `backend` is
    the stage's (default: generate's)."""
    if not uses_local_teacher(config):
        yield config.teacher_model, config.teacher_base_url
        return
    from dataset_builder.teacher import local_server as local_teacher

    backend = backend or backend_name(config)
    if backend == "guided_local_tests":
        steered = "its answers are steered into a code block of the row's language, so rows get tests (toy ones)"
    elif backend == "guided_local_solutions":
        steered = "its answers are steered into a code block of the row's language (toy solutions)"
    elif config.local_teacher_guided:
        steered = (
            "its answers are steered into the two sections (local_teacher_guided), so rows parse but are of toy "
            "quality"
        )
    else:
        steered = "expect few or no parsable rows"
    logger.warning(
        "No OPENAI_BASE_URL/OPENAI_API_KEY/teacher_base_url set: serving SmolLM2-135M-Instruct locally. It is far too "
        "weak to follow the OSS-Instruct prompt: %s. This only exercises the pipeline; point the builder at a real "
        "teacher to make real data.",
        steered,
    )
    model_dir = local_teacher.smollm2_model_dir(local_teacher.default_cache_dir())
    # The guided teachers send plain completions, which `transformers serve` batches across concurrent requests (in a
    # cache bounded for the model: by default it is sized for the machine).
    extra = local_teacher.toy_teacher_args() if backend in GUIDED_BACKENDS else []
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


def job(config: BuilderConfig, seeds) -> TeacherJob:
    """The generate stage's requests: one per seed."""
    return TeacherJob(
        stage="generate",
        journal="responses.jsonl",
        backend=backend_name(config),
        teacher=teacher_name(config),
        max_tokens=max_tokens(config),
        expected_completion_tokens=config.expected_completion_tokens,
        expected_field="expected_completion_tokens",
        keys=tuple(seeds["raw_index"]),
        requests=lambda done: build_requests(seeds, config, done),
    )


def estimate_job(job: TeacherJob, answered: list[dict], prices: Prices) -> dict:
    """Token and cost estimate of the job's requests not answered yet. Completion tokens per row: the mean of the
    answered rows once there are 20, else the job's expected tokens; never more than a request's max_tokens."""
    done = {row["raw_index"] for row in answered}
    pending = list(job.requests(done))
    prompt_tokens = sum(estimate_tokens(r.messages) for r in pending)
    measured = [row["completion_tokens"] for row in answered if row.get("completion_tokens")]
    per_row = sum(measured) / len(measured) if len(measured) >= 20 else job.expected_completion_tokens
    completion_tokens = int(sum(min(per_row, r.max_tokens) for r in pending))
    return {
        "requests": len(pending),
        "already_answered": len(done),
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "completion_tokens_per_row": completion_tokens / len(pending) if pending else per_row,
        "completion_estimate_from": "answered rows" if len(measured) >= 20 else job.expected_field,
        "max_tokens": job.max_tokens,
        "cost_usd": prices.cost(prompt_tokens, completion_tokens),
    }


def estimate(config: BuilderConfig, seeds, answered: list[dict], prices: Prices) -> dict:
    """Token and cost estimate of the generate requests not answered yet (`estimate_job`)."""
    return estimate_job(job(config, seeds), answered, prices)


def format_cost(cost_usd: float | None, teacher: str) -> str:
    if cost_usd is None:
        return (
            "unknown (set price_input_per_million / price_output_per_million, USD per 1M tokens: no known price for "
            f"{teacher!r})"
        )
    return f"${cost_usd:,.2f}" if cost_usd >= 1 else f"${cost_usd:.4f}"


def print_job_estimate(config: BuilderConfig, job: TeacherJob, answered: list[dict], title: str = "") -> dict:
    """Print the estimate of what `job` still has to send (after `title`, e.g. the stage); nothing is sent."""
    est = estimate_job(job, answered, prices_for(config))
    print(
        f"Dry run of {title}{job.teacher} ({config.teacher_backend}): {est['requests']} requests to send "
        f"({est['already_answered']} already answered)\n"
        f"  prompt tokens     ~{est['prompt_tokens']:,}\n"
        f"  completion tokens ~{est['completion_tokens']:,} ({est['completion_tokens_per_row']:.0f}/row from "
        f"{est['completion_estimate_from']}, max_tokens {est['max_tokens']})\n"
        f"  cost              ~{format_cost(est['cost_usd'], job.teacher)}\n"
        "Nothing was sent."
    )
    return est


def print_estimate(config: BuilderConfig, seeds, answered: list[dict]) -> dict:
    """Print the estimate of what the generate stage still has to send; nothing is sent."""
    return print_job_estimate(config, job(config, seeds), answered)


def _other_stage_file(path: str, prefix: str) -> str | None:
    """The first custom_id of a results file when it belongs to another of the builder's stages, else None."""
    from dataset_builder.teacher.batch_files import first_custom_id

    cid = first_custom_id(path)
    if isinstance(cid, str) and BUILDER_CUSTOM_ID.match(cid) and not cid.startswith(prefix):
        return cid
    return None


def batch_files(config: BuilderConfig, job: TeacherJob, run_dir: RunDir, journal: Journal, accounting) -> None:
    """Journal Batch results files given in the recipe; with `batch_write_only`, write the input files and stop.

    Results files of another stage (told by their custom_ids) in the glob are skipped: one glob may name both."""
    from glob import glob

    from tqdm.auto import tqdm

    from dataset_builder.teacher.batch_files import collect_results_file, write_input_files

    if config.batch_results_files:
        paths = sorted(glob(os.path.expanduser(config.batch_results_files)))
        if not paths:
            raise TeacherError(f"batch_results_files {config.batch_results_files!r} matches no file.")
        total = len(job.keys)
        with tqdm(total=total, initial=len(journal.done), desc=f"{job.stage}: results files", unit="row") as bar:
            for path in paths:
                if (cid := _other_stage_file(path, job.custom_id_prefix)) is not None:
                    logger.warning("%s: %s holds another stage's answers (%s): skipped", job.stage, path, cid)
                    continue
                ok, failed = collect_results_file(path, journal, accounting, bar, job.custom_id_prefix)
                logger.info("%s: %s: %d answers journaled, %d failed lines", job.stage, path, ok, failed)
    if config.batch_write_only:
        folder = run_dir.path / "batch-export"
        folder.mkdir(parents=True, exist_ok=True)
        body = (job.teacher, config.temperature if job.temperature is None else job.temperature, config.top_p)
        pending = list(job.requests(journal.done))
        written = write_input_files(pending, folder, 0, body, config.batch_max_requests, job.custom_id_prefix)
        first = folder / next(iter(written), "input-00000.jsonl")
        print(
            f"Wrote {len(pending)} requests in {len(written)} Batch input files to {folder}\n"
            "Run them with vLLM (or upload them to the OpenAI Batch API), for example:\n"
            f"  python -m vllm.entrypoints.openai.run_batch -i {first} -o {folder}/results-00000.jsonl "
            f"--model {job.teacher}\n"
            f"then rerun this command with --batch_write_only false --batch_results_files '{folder}/results-*.jsonl'."
        )
        raise StopRequested(written)


def ask(config: BuilderConfig, run_dir: RunDir, job: TeacherJob, title: str = "") -> tuple[list[dict], Accounting]:
    """Journal an answer for every row of `job` in the run folder and return the journaled rows with their token and
    cost totals. A rerun asks only for what is missing. A dry run prints the estimate (after `title`) and stops."""
    from tqdm.auto import tqdm

    journal = Journal(run_dir.path / job.journal)
    if config.dry_run:  # the CLI's dry run does not get here (preflight.dry_run); a direct call stops here
        answered = read_answers(journal.path) if journal.path.exists() else []
        raise StopRequested(print_job_estimate(config, job, answered, title))
    keys = set(job.keys)
    with journal:
        accounting = Accounting(prices_for(config))
        for row in journal.rows():
            accounting.add(row)
        if config.teacher_backend == "openai_batch" and (config.batch_results_files or config.batch_write_only):
            batch_files(config, job, run_dir, journal, accounting)
        pending_count = len(keys) - len(journal.done & keys)
        if pending_count and config.batch_results_files:
            raise TeacherError(
                f"{pending_count} rows have no answer in batch_results_files; write their requests with "
                "--batch_write_only true (only unanswered rows are written), run them, and add the new results."
            )
        logger.info("%s: %d rows answered before, %d to request", job.stage, len(journal.done), pending_count)
        if pending_count:
            with teacher_endpoint(config, run_dir, job.backend) as (model, base_url):
                settings = teacher_settings(config, model, base_url, job.custom_id_prefix, job.temperature)
                backend = get_backend(job.backend)(settings, run_dir)
                requests = job.requests(journal.done)
                with tqdm(
                    total=len(keys),
                    initial=len(keys) - pending_count,
                    desc=job.stage,
                    unit="row",
                    dynamic_ncols=True,
                ) as progress:
                    progress.set_postfix(accounting.postfix(), refresh=False)
                    backend.run(requests, pending_count, journal, accounting, progress)
    return list(journal.rows()), accounting


def run(config: BuilderConfig, run_dir: RunDir, upstream: RunDir) -> None:
    from datasets import Dataset, Features, Value, concatenate_datasets

    seeds = upstream.load()
    answered, accounting = ask(config, run_dir, job(config, seeds))
    features = Features({"raw_index": Value("int64")} | {k: Value(v) for k, v in RESPONSE_COLUMNS.items()})
    rows = sorted(answered, key=lambda row: row["raw_index"])
    answers = Dataset.from_dict({k: [row.get(k) for row in rows] for k in features}, features=features)
    if answers["raw_index"] != seeds["raw_index"]:
        raise RuntimeError(
            f"journal {run_dir.path / 'responses.jsonl'} does not cover the seeds exactly; delete it to start over."
        )
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
