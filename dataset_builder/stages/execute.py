"""Execute stage: every row's solution and teacher-written tests, compiled and run in a sandbox.

Each row gets `exec_status` (`execution.executor.STATUSES`: pass, fail, tests_incomplete, compile_error,
runtime_error, timeout, memory, output_limit, no_toolchain, unsupported_language), `exec_seconds`, `exec_output` (a
capped tail of what it printed), `exec_toolchain` (the compiler or runtime version) and `exec_detail` (why, where
the status alone does not say). `pass` means the tests' own code ran to its end with every check holding, as the
language's runner reports on the verdict channel (`execution.verdict`), never just an exit status of 0.
`verify_keep: passed` keeps the rows that pass and sends the others to `rejects/` with their status as the reason;
`all` keeps every row, so users can filter later.

Isolation is bubblewrap (`sandbox: bwrap`, `execution.bwrap`): new namespaces, no network, only the system and the
toolchains visible (read-only), a syscall filter, an empty environment, rlimits and a wall clock that kills the whole
tree. `sandbox: none` runs the code unisolated, only when asked, with a warning (the card records it). Results are
journaled per row (`results.jsonl`): a `kill -9` loses nothing and a rerun runs no stored row again; a row whose
compile finished is not compiled again.

`mutants_per_row: K` (0: off, and nothing of the above changes) then scores each passing row's tests against K
mutants of its solution (`execute_mutants`: `tests_mutation_score` and counts); `min_mutation_score` rejects the rows
whose tests kill too few (reason `mutation_score`).

`solutions_per_problem: N` > 1 (the solutions stage's `samples`) runs every other sample of a problem against the
same tests too (`execute_samples`: `pass_rate`, `samples_status`, `kept_sample`), and `verify_keep` grows `best` and
`diverse`; the exec_* columns are then those of the row's kept sample, and the stats' `by_language` stays sample 0's.
With mutants, the first passing sample is mutated.
"""

from __future__ import annotations

import logging
import math
import os
import stat
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

from dataset_builder.config import BuilderConfig, ConfigError
from dataset_builder.runs import DropCounter, RunDir
from dataset_builder.stages.base import Stage
from oss_common.journal import Journal

logger = logging.getLogger(__name__)

VERIFY_COLUMNS = {
    "exec_status": "string",
    "exec_seconds": "float64",
    "exec_output": "string",
    "exec_toolchain": "string",
    "exec_detail": "string",
}


def limits(config: BuilderConfig):
    """(run limits, compile limits) from the recipe."""
    from dataset_builder.execution.sandbox import Limits

    memory = config.exec_memory_mb << 20
    run = Limits(wall_seconds=config.exec_timeout, cpu_seconds=math.ceil(config.exec_timeout), memory_bytes=memory)
    compile_ = Limits(
        wall_seconds=config.exec_compile_timeout,
        cpu_seconds=math.ceil(config.exec_compile_timeout),
        memory_bytes=max(memory, 2 << 30),  # compilers (javac, rustc, tsc) need room whatever the tests get
    )
    return run, compile_


def language_options(config: BuilderConfig) -> dict:
    """The recipe fields the languages' plans take ({"typescript_typecheck": "strict"}): each language names its own
    (`Language.options`), each a field of the recipe."""
    from dataset_builder.execution.languages import SPECS

    return {name: getattr(config, name) for spec in SPECS.values() for name in spec.options}


def make_sandbox(config: BuilderConfig):
    """The recipe's sandbox, checked to run (a `SandboxError` names the fix); `none` only with a warning."""
    from dataset_builder.execution.sandbox import SANDBOXES

    sandbox = SANDBOXES[config.sandbox]()
    sandbox.check()
    if config.sandbox == "none":
        logger.warning(
            "sandbox: none — teacher-written code runs WITHOUT isolation (only rlimits, a timeout and an empty "
            "environment). Use it only for code you trust; the dataset card records it."
        )
    return sandbox


def toolchain_versions() -> dict[str, str | None]:
    """{language: toolchain version, or None when it is not installed} for the nine languages of the paper."""
    from dataset_builder.execution import toolchains

    found = {lang: toolchains.find(lang) for lang in toolchains.LANGUAGES}
    return {lang: (tool.version if tool else None) for lang, tool in found.items()}


def build_dir(run_dir: RunDir) -> Path:
    """Where rows are compiled and run: the run folder's `build/`, unless (as root) the sandbox's unprivileged uid
    cannot reach it (a checkout under /root): then a folder of this run under the system's temp folder."""
    if os.geteuid() != 0 or all(p.stat().st_mode & stat.S_IXOTH for p in run_dir.path.parents):
        return run_dir.path / "build"
    folder = Path(tempfile.gettempdir()) / "oss-instruct-exec"
    folder.mkdir(mode=0o711, exist_ok=True)
    logger.info("execute: %s is not reachable by the sandbox's uid; building rows in %s", run_dir.path, folder)
    return folder / run_dir.fingerprint


def solution_code(row: dict, solution_column: str) -> str:
    from dataset_builder.code_blocks import code_in

    return code_in(row[solution_column] or "", row["lang"]) or ""


def run(config: BuilderConfig, run_dir: RunDir, upstream: RunDir) -> None:
    from tqdm.auto import tqdm

    from dataset_builder.execution import workarea
    from dataset_builder.execution.executor import NOT_RUN, Executor, Job
    from dataset_builder.stages import execute_mutants, execute_samples
    from dataset_builder.stages.decontaminate import text_columns

    rows = upstream.load()
    if "tests" not in rows.column_names:
        raise ConfigError(f"execute needs the `tests` column of the tests stage; {upstream.path} has none.")
    _, solution_column = text_columns(rows.column_names)
    sandbox = make_sandbox(config)
    run_limits, compile_limits = limits(config)
    executor = Executor(
        sandbox,
        run_limits,
        compile_limits,
        workers=config.exec_workers,
        build_dir=build_dir(run_dir),
        options=language_options(config),
    )
    journal = Journal(run_dir.path / "results.jsonl")
    with journal:
        pending = [i for i, key in enumerate(rows["raw_index"]) if key not in journal.done]
        logger.info(
            "execute: %d rows run before, %d to run (%s, %s, %d workers)",
            len(rows) - len(pending),
            len(pending),
            sandbox.version(),
            sandbox.row_limits.describe(),
            executor.workers,
        )
        seen = Counter(row["exec_status"] for row in journal.rows())
        jobs = (
            Job(row["raw_index"], row["lang"], solution_code(row, solution_column), row["tests"] or "")
            for row in (rows[i] for i in pending)
        )
        with tqdm(total=len(rows), initial=len(rows) - len(pending), desc="execute", unit="row") as progress:
            for job, result in executor.run(jobs):
                journal.append({"raw_index": job.key, **result.as_row()})
                executor.forget(job.key)
                seen[result.status] += 1
                progress.set_postfix(dict(seen.most_common(4)), refresh=False)
                progress.update()
        results = {row["raw_index"]: row for row in journal.rows()}
    n, k = config.solutions_per_problem, config.mutants_per_row
    found = None
    if n > 1:
        sampled = execute_samples.run(run_dir, executor, rows)
        found = execute_samples.problems(rows, results, sampled, solution_column)
    scored = {}
    if k:
        scored = execute_mutants.run(k, run_dir, executor, *_mutated(rows, results, found, solution_column))
    workarea.remove(executor.build_dir, "build folder")  # the rows are gone (forget); a warning names leftovers
    sandbox.close()  # the slots' cgroups

    # problem-level reasons (None: published), then one output row per (problem, published sample)
    raw_indexes, languages = rows["raw_index"], rows["lang"]
    statuses_0 = [results[key]["exec_status"] for key in raw_indexes]
    if found is None:
        picks = [[0] if config.verify_keep == "all" or status == "pass" else [] for status in statuses_0]
    else:
        picks = [
            execute_samples.choose(problem, config.verify_keep, lang, config.diverse_threshold)
            for problem, lang in zip(found, languages, strict=True)
        ]
    reasons = [None if chosen else status for chosen, status in zip(picks, statuses_0, strict=True)]
    extras = {}
    if k:
        scores = [scored.get(key, {}).get("tests_mutation_score") for key in raw_indexes]
        weak = execute_mutants.reasons(scores, config.min_mutation_score)
        reasons = [reason or low for reason, low in zip(reasons, weak, strict=True)]
        removed = [reason == execute_mutants.REASON for reason in reasons]
        extras["mutation"] = execute_mutants.stats(
            k, config.min_mutation_score, languages, raw_indexes, scored, removed
        )
    if found is not None:
        for problem, chosen in zip(found, picks, strict=True):
            problem.kept = chosen
        published = [reason is None for reason in reasons]
        extras["samples"] = execute_samples.stats(config, languages, found, published)
    # rows out: a published problem once per kept sample; a rejected one once, with sample 0
    out = [
        (i, sample, reason)
        for i, (chosen, reason) in enumerate(zip(picks, reasons, strict=True))
        for sample in (chosen if reason is None else [0])
    ]
    dataset = _rows_out(rows, results, found, out, solution_column, scored if k else None)
    counter = DropCounter.of_reasons([reason for _, _, reason in out])
    kept = dataset.select([j for j, (_, _, reason) in enumerate(out) if reason is None])
    gone = [j for j, (_, _, reason) in enumerate(out) if reason is not None]
    rejects = dataset.select(gone)
    rejects = rejects.add_column("reason", [out[j][2] for j in gone]) if len(rejects) else _empty(dataset)
    by_language: dict[str, Counter] = defaultdict(Counter)  # per problem, its sample 0 (the row's own solution)
    for lang, status in zip(languages, statuses_0, strict=True):
        by_language[lang][status] += 1
    statuses = Counter(statuses_0)
    passed = statuses["pass"]
    ran = sum(n for status, n in statuses.items() if status not in NOT_RUN)
    run_dir.save(
        kept,
        rejects,
        counter,
        by_language={lang: dict(counts.most_common()) for lang, counts in sorted(by_language.items())},
        statuses=dict(statuses.most_common()),
        pass_rate=passed / ran if ran else None,
        toolchains=toolchain_versions(),
        sandbox=sandbox.version(),
        limits={"run": vars(run_limits), "compile": vars(compile_limits)},
        row_limits=sandbox.row_limits.name,
        options=executor.options,
        verify_keep=config.verify_keep,
        **extras,
    )
    if found is not None:
        logger.info(
            "execute: %d of %d problems have a passing sample among %d (%d samples pass of %d); %d rows published",
            sum(problem.first_pass is not None for problem in found),
            len(found),
            n,
            sum(problem.statuses.count("pass") for problem in found),
            n * len(found),
            len(kept),
        )
    logger.info(
        "execute: %d of %d rows pass (%s of those run); %s",
        passed,
        len(rows),
        f"{100 * passed / ran:.1f}%" if ran else "none",
        ", ".join(f"{k} {v}" for k, v in statuses.most_common()),
    )


def _mutated(rows, results: dict, found, solution_column: str) -> tuple:
    """(rows, results, solution column) whose passing rows get mutants: the rows themselves, or with several samples
    per problem the first passing sample of each problem (its answer as the solution)."""
    if found is None:
        return rows, results, solution_column
    chosen = []
    for row, problem in zip(rows.select_columns(["raw_index", "lang", "tests"]), found, strict=True):
        first = problem.first_pass
        chosen.append({**row, solution_column: problem.answers[0 if first is None else first]})
    passed = {
        row["raw_index"]: {"exec_status": "fail" if problem.first_pass is None else "pass"}
        for row, problem in zip(chosen, found, strict=True)
    }
    return chosen, passed, solution_column


def _rows_out(rows, results: dict, found, out: list[tuple], solution_column: str, scored: dict | None):
    """The stage's rows: for each (row position, sample, reason) of `out`, the row with that sample's answer as its
    solution and that sample's exec_* columns (+ sample and mutation columns when they were made)."""
    from datasets import Dataset, Sequence, Value, concatenate_datasets

    positions = [i for i, _, _ in out]
    raw = rows["raw_index"]
    keys = [raw[i] for i in positions]
    if found is None:
        picked = [results[key] for key in keys]
    else:
        picked = [found[i].results[sample] for i, sample, _ in out]
    columns = {name: [result[name] for result in picked] for name in VERIFY_COLUMNS}
    verified = Dataset.from_dict(columns).cast_column("exec_seconds", Value("float64"))
    for name in VERIFY_COLUMNS:
        if name != "exec_seconds":
            verified = verified.cast_column(name, Value("string"))
    if scored is not None:
        from dataset_builder.stages import execute_mutants

        for name, values in execute_mutants.row_columns(keys, scored).items():
            verified = verified.add_column(name, values, feature=Value(execute_mutants.MUTATION_COLUMNS[name]))
    base = rows.select(positions)
    if found is not None:
        answers = [found[i].answers[sample] for i, sample, _ in out]
        order = [name for name in base.column_names if name != "samples_finish_reason"]
        base = base.remove_columns(["samples", "samples_finish_reason", solution_column])
        base = base.add_column(solution_column, answers, feature=Value("string"))
        base = base.add_column("samples", [found[i].answers for i in positions], feature=Sequence(Value("string")))
        base = base.select_columns(order)
        verified = verified.add_column("kept_sample", [sample for _, sample, _ in out], feature=Value("int64"))
        verified = verified.add_column(
            "samples_status", [found[i].statuses for i in positions], feature=Sequence(Value("string"))
        )
        verified = verified.add_column("pass_rate", [found[i].pass_rate for i in positions], feature=Value("float64"))
    return concatenate_datasets([base, verified], axis=1)


def _empty(dataset):
    """No rejects, with the rows' columns and `reason`: an empty `select` of the rows cannot take a new column."""
    from datasets import Dataset, Value

    features = dataset.features.copy()
    features["reason"] = Value("string")
    return Dataset.from_dict({name: [] for name in features}, features=features)


class Execute(Stage):
    """Runs each row's tests against its solution in the sandbox; keeps the rows that pass (or all, with status)."""

    name = "execute"
    # 2: pass needs the runner's word that the tests completed (`tests_incomplete`); exec_detail. 3: a Bash or PHP
    # solution that does not parse is a compile_error the runner reports (its mutants are not valid)
    version = 3
    # The toolchains are not part of the fingerprint, so a run folder has the same name on every machine (recipes
    # and runbooks point at published folders); each row records its toolchain (`exec_toolchain`), the card lists
    # them, and a run that should use newly installed ones is started in a new `output_dir`.
    run = staticmethod(run)
