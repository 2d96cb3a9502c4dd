"""Solutions stage (`solutions_per_problem: N` > 1): N-1 more solutions of each parsed problem, asked of the teacher.

The generate stage's solution is sample 0, the paper's greedy answer; samples 1..N-1 answer `prompts.solution_messages`
(the paper's system prompt, the problem, and the paper's own words for the [Solution] section) at
`solutions_temperature`, each with its own seed (`seed + key`). Only rows the tests stage will ask about get samples
(a language with a test harness and a solution with code, `tests.skip_reason`); the others pass through with none.
Nothing is rejected here: a sample that was cut (`finish_reason: length`) or has no code block gets a status of its
own when the execute stage runs the samples.

Rows gain `samples` (the N-1 answers, in order) and `samples_finish_reason`. Requests go through the generate stage's
machinery (`generate.ask`): backends, token accounting, Batch files, the dry run, the local toy teacher
(`guided_local_solutions`). Its journal `solutions.jsonl` is keyed by (row, sample) as one integer,
`raw_index * 1000 + sample` (Batch custom_ids `solutions-row-<key>`): a kill -9 loses nothing and a rerun asks only for
the samples not journaled. With N = 1 the stage is not in the chain at all, so a build's run folders are today's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from dataset_builder import prompts
from dataset_builder.config import BuilderConfig
from dataset_builder.runs import DropCounter, RunDir
from dataset_builder.stages import generate
from dataset_builder.stages.base import Stage
from dataset_builder.stages.tests import question_rows, skip_reason
from dataset_builder.teacher.base import Request, estimate_tokens

logger = logging.getLogger(__name__)

JOURNAL = "solutions.jsonl"
CUSTOM_ID_PREFIX = "solutions-row-"
SAMPLE_STRIDE = 1000  # a sample's journal key: raw_index * SAMPLE_STRIDE + sample (config_checks.SAMPLES_MAX < it)
COLUMNS = ("samples", "samples_finish_reason")
# the columns the solutions and execute stages add (a verify source's own are renamed: stages.source)
ADDED = (*COLUMNS, "samples_status", "pass_rate", "kept_sample")


def key(raw_index: int, sample: int) -> int:
    return raw_index * SAMPLE_STRIDE + sample


def backend_name(config: BuilderConfig) -> str:
    """The recipe's backend, or `guided_local_solutions` for the local toy teacher when it is steered."""
    if generate.uses_local_teacher(config) and config.local_teacher_guided:
        return "guided_local_solutions"
    return config.teacher_backend


def extra(config: BuilderConfig) -> range:
    """The sample numbers asked here: 1 .. solutions_per_problem - 1."""
    return range(1, config.solutions_per_problem)


def asked(row: dict) -> bool:
    """Whether the row gets samples: the tests stage will ask for its tests."""
    return skip_reason(row) is None


def build_requests(rows: Iterable[dict], config: BuilderConfig, done: set[int]) -> Iterator[Request]:
    """One request per (row, sample) not journaled; seed = config.seed + key."""
    limit = generate.max_tokens(config)
    for row in rows:
        if not asked(row):
            continue
        messages = prompts.solution_messages(row["problem"], row["lang"])
        room = limit
        if config.teacher_context_length:
            room = max(1, min(limit, config.teacher_context_length - estimate_tokens(messages)))
        for sample in extra(config):
            k = key(row["raw_index"], sample)
            if k not in done:
                yield Request(k, messages, config.seed + k, room, language=row["lang"])


def job(config: BuilderConfig, rows: list[dict]) -> generate.TeacherJob:
    """The solutions stage's requests over `rows` (dicts with raw_index, lang, problem, solution)."""
    return generate.TeacherJob(
        stage="solutions",
        journal=JOURNAL,
        backend=backend_name(config),
        teacher=generate.teacher_name(config),
        max_tokens=generate.max_tokens(config),
        expected_completion_tokens=config.expected_completion_tokens,
        expected_field="expected_completion_tokens",
        keys=tuple(key(row["raw_index"], s) for row in rows if asked(row) for s in extra(config)),
        requests=lambda done: build_requests(rows, config, done),
        custom_id_prefix=CUSTOM_ID_PREFIX,
        temperature=config.solutions_temperature,
    )


def print_estimate(config: BuilderConfig, rows: list[dict], answered: list[dict]) -> dict:
    """Print the estimate of the solution requests still to send for `rows`; nothing is sent."""
    return generate.print_job_estimate(config, job(config, rows), answered, title="the solutions stage, ")


def assumed_estimate(config: BuilderConfig, rows_per_language: dict, rate: float) -> dict:
    """The solution requests of rows not made yet (`rate` of `rows_per_language`, languages with a harness only):
    N-1 per row, each prompt the solutions prompt around a problem (a third of expected_completion_tokens, assumed),
    each answer expected_completion_tokens (at most max_tokens)."""
    requests = prompt_tokens = 0
    n = config.solutions_per_problem - 1
    for lang, count in sorted(rows_per_language.items()):
        if lang not in prompts.HARNESS or n <= 0:
            continue
        asked_rows = round(count * rate)
        requests += asked_rows * n
        prompt = estimate_tokens(prompts.solution_messages("", lang)) + config.expected_completion_tokens // 3
        prompt_tokens += asked_rows * n * prompt
    completion_tokens = requests * min(config.expected_completion_tokens, generate.max_tokens(config))
    return {
        "requests": requests,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "cost_usd": generate.prices_for(config).cost(prompt_tokens, completion_tokens),
    }


def run(config: BuilderConfig, run_dir: RunDir, upstream: RunDir) -> None:
    from datasets import Dataset, Features, Sequence, Value, concatenate_datasets

    source = upstream.load()  # a verify source's own sample columns are source_<name> by now (stages.source)
    rows = question_rows(source)
    answered, accounting = generate.ask(config, run_dir, job(config, rows), title="the solutions stage, ")
    answers = {row["raw_index"]: row for row in answered}
    samples, finish = [], []
    missing = []
    for row in rows:
        texts, reasons = [], []
        for sample in extra(config) if asked(row) else ():
            answer = answers.get(key(row["raw_index"], sample))
            if answer is None:
                missing.append((row["raw_index"], sample))
                continue
            texts.append(answer.get("response") or "")
            reasons.append(answer.get("finish_reason"))
        samples.append(texts)
        finish.append(reasons)
    if missing:
        raise RuntimeError(
            f"journal {run_dir.path / JOURNAL} has no answer for (row, sample) {missing[:5]}; rerun to ask."
        )
    features = Features({"samples": Sequence(Value("string")), "samples_finish_reason": Sequence(Value("string"))})
    added = Dataset.from_dict({"samples": samples, "samples_finish_reason": finish}, features=features)
    dataset = concatenate_datasets([source, added], axis=1)
    empty_rejects = Dataset.from_dict({"raw_index": [], "reason": []})
    n_asked = sum(asked(row) for row in rows)
    run_dir.save(
        dataset,
        empty_rejects,
        DropCounter(kept=len(dataset)),
        teacher=generate.teacher_name(config),
        usage=accounting.as_dict(),
        solutions_per_problem=config.solutions_per_problem,
        temperature=config.solutions_temperature,
        rows_with_samples=n_asked,
    )
    cost = accounting.cost
    logger.info(
        "solutions: %d more solutions for each of %d rows (temperature %s); %d prompt + %d completion tokens%s -> %s",
        config.solutions_per_problem - 1,
        n_asked,
        config.solutions_temperature,
        accounting.prompt_tokens,
        accounting.completion_tokens,
        "" if cost is None else f", ${cost:.4f}",
        run_dir.dataset_path,
    )


class Solutions(Stage):
    """Asks the teacher for more solutions of each parsed problem, resumably (only with solutions_per_problem > 1)."""

    name = "solutions"
    version = 1
    run = staticmethod(run)

    def fingerprint_inputs(self, config: BuilderConfig) -> dict:
        return super().fingerprint_inputs(config) | {
            "teacher_model": generate.teacher_name(config),
            "max_tokens": generate.max_tokens(config),
            "system_prompt": prompts.SYSTEM,
            "user_template": prompts.SOLUTIONS_USER_TEMPLATE,
            "fences": {lang: fence for lang, (_, fence) in prompts.TEST_LANGUAGES.items()},
        }
