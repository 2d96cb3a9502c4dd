"""Tests stage: one more teacher request per row, asking for tests of its problem and solution in the row's language.

The prompt (`prompts.tests_messages`) shows the problem and its (first) solution, or with `tests_from: problem` the
problem alone, and tells the teacher how the executor makes the solution visible to the tests, per language; the
tests are the code blocks of the answer in that language (`code_blocks.code_in`). A row is rejected, with its reason,
when its language has no harness (`unsupported_language`) or its solution has no code block (`no_solution_code`):
neither is asked for. After the answer: `tests_truncated` (cut at max_tokens), `no_tests` (no code block in the
language) or `no_checks` (tests with no assertion, throw or failing exit, `prompts.CHECKS`: they would pass whatever
the solution does). Requests go through the generate stage's machinery (`generate.ask`):
backends, the journal `tests.jsonl` keyed by raw_index (a rerun asks only for what is missing), token accounting,
Batch results files and export (custom_ids `tests-row-<raw_index>`), the dry run and the local toy teacher
(`guided_local_tests`).
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator

from dataset_builder import prompts
from dataset_builder.code_blocks import code_in
from dataset_builder.config import BuilderConfig
from dataset_builder.runs import DropCounter, RunDir
from dataset_builder.stages import generate
from dataset_builder.stages.base import Stage
from dataset_builder.stages.decontaminate import text_columns
from dataset_builder.teacher.base import Request, estimate_tokens

logger = logging.getLogger(__name__)

JOURNAL = "tests.jsonl"
CUSTOM_ID_PREFIX = "tests-row-"
COLUMNS = {
    "tests": "string",
    "tests_response": "string",
    "tests_finish_reason": "string",
    "tests_prompt_tokens": "int64",
    "tests_completion_tokens": "int64",
}
# The dry run before parse has run: the share of seeds assumed to parse into a problem and a solution (the paper's
# 75K rows of 80K seeds survived parsing and cleaning: REFERENCE.md §1).
ASSUMED_PARSE_RATE = 0.94


def backend_name(config: BuilderConfig) -> str:
    """The recipe's backend, or `guided_local_tests` for the local toy teacher when it is steered."""
    if generate.uses_local_teacher(config) and config.local_teacher_guided:
        return "guided_local_tests"
    return config.teacher_backend


def max_tokens(config: BuilderConfig) -> int:
    """`tests_max_tokens`; the local toy teacher gets `local_teacher_max_tokens` at most (it is slow on CPU)."""
    if generate.uses_local_teacher(config):
        return min(config.tests_max_tokens, config.local_teacher_max_tokens)
    return config.tests_max_tokens


def skip_reason(row: dict) -> str | None:
    """Why a row gets no request (its rejection reason), or None when it is asked for."""
    if row["lang"] not in prompts.HARNESS:
        return "unsupported_language"
    if code_in(row["solution"], row["lang"]) is None:
        return "no_solution_code"
    return None


def build_requests(rows: Iterable[dict], config: BuilderConfig, done: set[int]) -> Iterator[Request]:
    """One request per row to ask (see `skip_reason`) whose answer is not journaled; seed = config.seed + raw_index."""
    for row in rows:
        if row["raw_index"] in done or skip_reason(row) is not None:
            continue
        shown = row["solution"] if config.tests_from == "solution" else None  # tests_from: problem shows no solution
        messages = prompts.tests_messages(row["problem"], shown, row["lang"])
        limit = max_tokens(config)
        if config.teacher_context_length:
            limit = max(1, min(limit, config.teacher_context_length - estimate_tokens(messages)))
        yield Request(row["raw_index"], messages, config.seed + row["raw_index"], limit, language=row["lang"])


def job(config: BuilderConfig, rows: list[dict]) -> generate.TeacherJob:
    """The tests stage's requests over `rows` (dicts with raw_index, lang, problem, solution)."""
    return generate.TeacherJob(
        stage="tests",
        journal=JOURNAL,
        backend=backend_name(config),
        teacher=generate.teacher_name(config),
        max_tokens=max_tokens(config),
        expected_completion_tokens=config.expected_tests_completion_tokens,
        expected_field="expected_tests_completion_tokens",
        keys=tuple(row["raw_index"] for row in rows if skip_reason(row) is None),
        requests=lambda done: build_requests(rows, config, done),
        custom_id_prefix=CUSTOM_ID_PREFIX,
    )


def answer_columns(row: dict, answer: dict | None) -> tuple[dict, str | None]:
    """The row's tests columns from its journaled answer (None: not asked), and its rejection reason or None."""
    columns = dict.fromkeys(COLUMNS)
    reason = skip_reason(row)
    if reason is not None:
        return columns, reason
    columns.update(
        tests_response=answer.get("response"),
        tests_finish_reason=answer.get("finish_reason"),
        tests_prompt_tokens=answer.get("prompt_tokens"),
        tests_completion_tokens=answer.get("completion_tokens"),
        tests=code_in(answer.get("response"), row["lang"]),
    )
    if answer.get("finish_reason") == "length":
        return columns, "tests_truncated"
    if columns["tests"] is None:
        return columns, "no_tests"
    if not re.search(prompts.CHECKS[row["lang"]], columns["tests"]):
        return columns, "no_checks"  # it would pass whatever the solution does
    return columns, None


def by_language(rows: list[dict], reasons: list[str | None]) -> dict:
    """{lang: {"rows_in", "kept", "dropped": {reason: rows}}}."""
    counts: dict[str, Counter] = defaultdict(Counter)
    for row, reason in zip(rows, reasons, strict=True):
        counts[row["lang"]]["__in"] += 1
        counts[row["lang"]]["__kept" if reason is None else reason] += 1
    return {
        lang: {
            "rows_in": c["__in"],
            "kept": c["__kept"],
            "dropped": {k: v for k, v in sorted(c.items()) if not k.startswith("__")},
        }
        for lang, c in sorted(counts.items())
    }


def print_estimate(config: BuilderConfig, rows: list[dict], answered: list[dict]) -> dict:
    """Print the estimate of the test-writing requests still to send for `rows`; nothing is sent."""
    return generate.print_job_estimate(config, job(config, rows), answered, title="the tests stage, ")


def assumed_estimate(config: BuilderConfig, rows_per_language: dict, rate: float = ASSUMED_PARSE_RATE) -> dict:
    """The test-writing requests of rows not made yet: `rate` of `rows_per_language` ({lang: rows}; seeds, of which
    ASSUMED_PARSE_RATE parse into rows), languages with a harness only. Each prompt is the tests prompt around a
    problem and solution of `expected_completion_tokens` (what generate is assumed to write), each answer
    `expected_tests_completion_tokens` (at most max_tokens)."""
    requests = prompt_tokens = 0
    for lang, rows in sorted(rows_per_language.items()):
        if lang not in prompts.HARNESS:
            continue
        n = round(rows * rate)
        requests += n
        shown = "" if config.tests_from == "solution" else None
        prompt = estimate_tokens(prompts.tests_messages("", shown, lang)) + config.expected_completion_tokens
        prompt_tokens += n * prompt
    completion_tokens = requests * min(config.expected_tests_completion_tokens, max_tokens(config))
    return {
        "requests": requests,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "cost_usd": generate.prices_for(config).cost(prompt_tokens, completion_tokens),
    }


def print_assumed_estimate(config: BuilderConfig, languages: Iterable[str]) -> dict:
    """Print `assumed_estimate` for seeds in `languages` (one per seed), saying what it assumes; nothing is sent."""
    est = assumed_estimate(config, Counter(languages))
    teacher = generate.teacher_name(config)
    print(
        f"Dry run of the tests stage, {teacher} ({config.teacher_backend}): ~{est['requests']} requests to send, "
        f"assuming {ASSUMED_PARSE_RATE:.0%} of the seeds parse into rows (parse has not run yet; languages with a "
        "test harness only)\n"
        f"  prompt tokens     ~{est['prompt_tokens']:,} (the tests prompt around a problem and solution of "
        f"expected_completion_tokens)\n"
        f"  completion tokens ~{est['completion_tokens']:,} (expected_tests_completion_tokens, max_tokens "
        f"{max_tokens(config)})\n"
        f"  cost              ~{generate.format_cost(est['cost_usd'], teacher)}\n"
        "Nothing was sent."
    )
    return est


def question_rows(dataset) -> list[dict]:
    """raw_index, lang, problem and solution of each row, as the stages that ask the teacher about rows read them
    (`problem`/`solution`, or a verify source's `instruction`/`response`)."""
    problem, solution = text_columns(dataset.column_names)
    return [
        {"raw_index": row["raw_index"], "lang": row["lang"], "problem": row[problem], "solution": row[solution]}
        for row in dataset.select_columns(["raw_index", "lang", problem, solution]).to_list()
    ]


def run(config: BuilderConfig, run_dir: RunDir, upstream: RunDir) -> None:
    from datasets import Dataset, Features, Value, concatenate_datasets

    source = upstream.load()
    rows = question_rows(source)
    answered, accounting = generate.ask(config, run_dir, job(config, rows), title="the tests stage, ")
    answers = {row["raw_index"]: row for row in answered}
    missing = [row["raw_index"] for row in rows if skip_reason(row) is None and row["raw_index"] not in answers]
    if missing:
        raise RuntimeError(f"journal {run_dir.path / JOURNAL} has no answer for rows {missing[:5]}; rerun to ask.")
    columns, reasons = [], []
    for row in rows:
        values, reason = answer_columns(row, answers.get(row["raw_index"]))
        columns.append(values)
        reasons.append(reason)
    features = Features({name: Value(kind) for name, kind in COLUMNS.items()})
    added = Dataset.from_dict({name: [c[name] for c in columns] for name in COLUMNS}, features=features)
    added = added.add_column("reason", reasons, feature=Value("string"))
    every = concatenate_datasets([source, added], axis=1)
    kept_indices = [i for i, reason in enumerate(reasons) if reason is None]
    kept = every.select(kept_indices).remove_columns("reason")
    rejects = every.select([i for i, reason in enumerate(reasons) if reason is not None])
    counter = DropCounter.of_reasons(reasons)
    languages = by_language(rows, reasons)
    usage = accounting.as_dict()
    run_dir.save(kept, rejects, counter, teacher=generate.teacher_name(config), usage=usage, by_language=languages)
    cost = accounting.cost
    logger.info(
        "tests: %s of %d rows; %d prompt + %d completion tokens%s -> %s",
        counter.summary(),
        len(rows),
        accounting.prompt_tokens,
        accounting.completion_tokens,
        "" if cost is None else f", ${cost:.4f}",
        run_dir.dataset_path,
    )


class Tests(Stage):
    """Asks the teacher for tests of each row's problem and solution, resumably."""

    name = "tests"
    version = 1
    run = staticmethod(run)

    def fingerprint_inputs(self, config: BuilderConfig) -> dict:
        return (
            super().fingerprint_inputs(config)
            | {
                "teacher_model": generate.teacher_name(config),
                "max_tokens": max_tokens(config),
                "system_prompt": prompts.TESTS_SYSTEM,
                "user_template": prompts.TESTS_USER_TEMPLATE,
                **(
                    {"problem_template": prompts.TESTS_FROM_PROBLEM_TEMPLATE} if config.tests_from == "problem" else {}
                ),
                "harness": dict(prompts.HARNESS),
                "fences": {lang: fence for lang, (_, fence) in prompts.TEST_LANGUAGES.items()},
                "checks": dict(prompts.CHECKS),
            }
            | (
                {"toy_starters": dict(prompts.TOY_TESTS_STARTERS)}
                if backend_name(config) == "guided_local_tests"
                else {}
            )
        )
