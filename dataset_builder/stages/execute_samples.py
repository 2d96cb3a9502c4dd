"""The execute stage's samples (`solutions_per_problem: N` > 1): every solution of a problem run against its tests.

Sample 0 is the row's own solution, run as with N = 1 (`results.jsonl`); samples 1..N-1 are the solutions stage's
(`samples`), run with the same tests and journaled one by one in `samples.jsonl`, keyed `<raw_index>.s<n>`: a kill -9
loses nothing and a rerun runs no stored sample again. A sample that was cut (`finish_reason: length`) is
`solution_truncated` and one without a code block in the row's language `no_solution_code`, both without running.

Per problem: `samples_status` (each sample's status, sample 0 first), `pass_rate` (passed / samples executed; only
`no_toolchain` and `unsupported_language` do not count as executed, so a sample without code counts as a failure) and
which samples `verify_keep` publishes (`choose`): `passed` and `all` sample 0 (today's rows), `best` the first sample
that passes, `diverse` every passing sample whose code is not a near-duplicate of one kept before it (MinHash over
token 3-grams, datasketch, at `diverse_threshold`). A published row's `solution` is its kept sample's answer
(`kept_sample`), its exec_* columns that sample's run, and `samples` holds all N answers (`samples[kept_sample]` is
the row's solution), so that passing and failing answers of one problem stay together.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field

from oss_common.journal import Journal

logger = logging.getLogger(__name__)

JOURNAL = "samples.jsonl"
TRUNCATED = "solution_truncated"
NO_CODE = "no_solution_code"
SAMPLE_STATUSES = (TRUNCATED, NO_CODE)  # statuses of samples that could not run, beside executor.STATUSES
NGRAM = 3  # diverse: token n-grams of a solution's code
NUM_PERM = 128
TOKEN = re.compile(r"\w+|[^\w\s]")
BINS = ("0", "(0, 0.5)", "[0.5, 1)", "1")  # pass_rate's distribution in the stats and the card
_COLUMNS = ["raw_index", "lang", "tests", "samples", "samples_finish_reason"]  # what the sample runs read


def sample_key(raw_index: int, sample: int) -> str:
    return f"{raw_index}.s{sample}"


def bin_of(rate: float) -> str:
    return BINS[0] if rate == 0 else BINS[3] if rate == 1 else BINS[1] if rate < 0.5 else BINS[2]


def _not_run(status: str, detail: str) -> dict:
    """The result row of a sample that was not run."""
    return {"exec_status": status, "exec_seconds": 0.0, "exec_output": "", "exec_toolchain": None} | {
        "exec_detail": detail
    }


def _sample_jobs(rows, journal: Journal):
    """(key, language, code or None, tests, finish_reason) of each extra sample not journaled."""
    from dataset_builder.code_blocks import code_in

    for row in rows:
        for n, (text, finish) in enumerate(zip(row["samples"], row["samples_finish_reason"], strict=True), 1):
            key = sample_key(row["raw_index"], n)
            if key in journal.done:
                continue
            code = None if finish == "length" else code_in(text or "", row["lang"])
            yield key, row["lang"], code, row["tests"] or "", finish


def run(run_dir, executor, rows) -> dict[str, dict]:
    """Run the extra samples of every row (those not journaled) and return {sample key: its result row}."""
    from tqdm.auto import tqdm

    from dataset_builder.execution.executor import Job

    journal = Journal(run_dir.path / JOURNAL, key="sample")
    with journal:
        total = sum(map(len, rows["samples_finish_reason"]))  # one per sample, without loading the answers
        logger.info(
            "execute: %d more samples of %d rows: %d run before, %d to run",
            total,
            len(rows),
            len(journal.done),
            total - len(journal.done),
        )

        def jobs():
            for key, language, code, tests, finish in _sample_jobs(rows.select_columns(_COLUMNS), journal):
                if code is None:  # journaled at once, in order with the runs
                    cut = finish == "length"
                    status, why = (TRUNCATED, "cut at max_tokens") if cut else (NO_CODE, "without a code block")
                    journal.append({"sample": key, **_not_run(status, f"the sample was {why}: not run")})
                    progress.update()
                    continue
                yield Job(key, language, code, tests)

        seen: Counter = Counter()
        with tqdm(total=total, initial=len(journal.done), desc="samples", unit="sample") as progress:
            for job, result in executor.run(jobs()):
                journal.append({"sample": job.key, **result.as_row()})
                executor.forget(job.key)
                seen[result.status] += 1
                progress.set_postfix(dict(seen.most_common(4)), refresh=False)
                progress.update()
        return {row["sample"]: row for row in journal.rows()}


@dataclass
class Problem:
    """One problem's samples: their answers, results and statuses (sample 0 first), and what `choose` picked."""

    answers: list[str]
    results: list[dict]
    kept: list[int] = field(default_factory=list)  # the samples published, in order

    @property
    def statuses(self) -> list[str]:
        return [result["exec_status"] for result in self.results]

    @property
    def pass_rate(self) -> float | None:
        from dataset_builder.execution.executor import NOT_RUN

        ran = [status for status in self.statuses if status not in NOT_RUN]
        return sum(status == "pass" for status in ran) / len(ran) if ran else None

    @property
    def first_pass(self) -> int | None:
        return next((i for i, status in enumerate(self.statuses) if status == "pass"), None)


def problems(rows, results: dict, sampled: dict, solution_column: str) -> list[Problem]:
    """Every row's samples (its own solution first) with their results, in the rows' order."""
    found = []
    for row in rows.select_columns(["raw_index", solution_column, "samples"]):
        raw = row["raw_index"]
        extra = [sampled[sample_key(raw, n)] for n in range(1, len(row["samples"]) + 1)]
        found.append(Problem([row[solution_column] or "", *row["samples"]], [results[raw], *extra]))
    return found


def _tokens(code: str) -> set[bytes]:
    words = TOKEN.findall(code)
    if len(words) < NGRAM:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i : i + NGRAM]).encode() for i in range(len(words) - NGRAM + 1)}


def diverse(codes: dict[int, str], threshold: float) -> list[int]:
    """The samples (keys of `codes`, in order) whose code is not a near-duplicate of one kept before it: estimated
    Jaccard similarity of token 3-grams below `threshold` (datasketch MinHash, one seed for all)."""
    from datasketch import MinHash

    kept: list[tuple[int, object]] = []
    for n, code in codes.items():
        m = MinHash(num_perm=NUM_PERM, seed=1)
        m.update_batch(sorted(_tokens(code)))
        if all(m.jaccard(other) < threshold for _, other in kept):
            kept.append((n, m))
    return [n for n, _ in kept]


def choose(problem: Problem, keep: str, lang: str, threshold: float) -> list[int]:
    """The samples `keep` publishes for one problem (empty: the problem goes to rejects/ with sample 0)."""
    from dataset_builder.code_blocks import code_in

    if keep == "all":
        return [0]
    if keep == "passed":
        return [0] if problem.statuses[0] == "pass" else []
    if keep == "best":
        return [] if problem.first_pass is None else [problem.first_pass]
    passing = {n: code_in(problem.answers[n], lang) or problem.answers[n] for n, s in enumerate(problem.statuses)}
    passing = {n: code for n, code in passing.items() if problem.statuses[n] == "pass"}
    return diverse(passing, threshold) if passing else []


def stats(config, languages: list[str], found: list[Problem], published: list[bool]) -> dict:
    """The stats.json entry `samples`: per language problems, samples executed and passed, pass@1 of sample 0, the
    problems with a passing sample, the pass-rate distribution and the rows published."""
    from dataset_builder.execution.executor import NOT_RUN

    by_language: dict[str, dict] = {}
    for lang, problem, shown in zip(languages, found, published, strict=True):
        entry = by_language.setdefault(
            lang,
            {
                "problems": 0,
                "samples": 0,
                "executed": 0,
                "passed": 0,
                "first_passed": 0,
                "any_passed": 0,
                "rows_published": 0,
                "statuses": Counter(),
                "bins": Counter(),
            },
        )
        entry["problems"] += 1
        entry["samples"] += len(problem.statuses)
        entry["executed"] += sum(status not in NOT_RUN for status in problem.statuses)
        entry["passed"] += problem.statuses.count("pass")
        entry["first_passed"] += problem.statuses[0] == "pass"
        entry["any_passed"] += problem.first_pass is not None
        entry["rows_published"] += len(problem.kept) if shown else 0
        entry["statuses"].update(problem.statuses)
        if problem.pass_rate is not None:
            entry["bins"][bin_of(problem.pass_rate)] += 1
    for entry in by_language.values():
        entry["statuses"] = dict(entry["statuses"].most_common())
        entry["bins"] = {name: entry["bins"].get(name, 0) for name in BINS}
    return {
        "solutions_per_problem": config.solutions_per_problem,
        "temperature": config.solutions_temperature,
        "tests_from": config.tests_from,
        "verify_keep": config.verify_keep,
        "diverse_threshold": config.diverse_threshold if config.verify_keep == "diverse" else None,
        "by_language": dict(sorted(by_language.items())),
    }
