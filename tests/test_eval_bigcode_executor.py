"""The same MultiPL-E programs scored by the real bigcode harness (sandboxed) and by the project's own executor
(`dataset_builder.execution`): their verdicts agree program by program.

The programs are tests/multiple_solutions.py's for HumanEval_0.._2 (correct ones and a wrong HumanEval_2), each the
harness's whole program (prompt + completion + "\\n" + the row's tests). For the executor a program is split where the
tests begin (the C++ and Rust `main`, PHP's `candidate` wrapper, JavaScript's `require('node:assert')`) into the
solution and its tests. Java's program is one class whose `main` holds the asserts, so it is the whole solution and
the tests only call that `main`. JavaScript runs as the executor's TypeScript: tsc compiles it in the default
`typescript_typecheck: report` mode (type errors of untyped JavaScript are printed, the emitted JavaScript runs).

Where they cannot agree as-is: every MultiPL-E Java program imports `org.javatuples.*`, which the harness puts on the
classpath (/usr/multiple/javatuples-1.2.jar) and the executor does not (`-cp .`), so the executor reports a compile
error for all of them; the harness is right for MultiPL-E (the jar is part of the benchmark). With the import left
out (these three problems use no tuple) the verdicts agree.
"""

import json
from pathlib import Path

import pytest

from eval import bigcode
from tests.helpers.execution import need, run_all
from tests.multiple_solutions import CORRECT, WRONG
from tests.test_eval_bigcode_harness import FIXTURE, LANGUAGES, harness_or_skip, rows

EXECUTOR_LANGUAGE = {"cpp": "cpp", "java": "java", "js": "typescript", "php": "php", "rs": "rust"}
TESTS_START = {"cpp": "int main(", "rs": "fn main(", "php": "function candidate(", "js": "const assert = require("}
JAVA_TESTS = (
    "public class Main {\n    public static void main(String[] args) {\n        Problem.main(args);\n    }\n}\n"
)
JAVATUPLES = "import org.javatuples.*;\n"


def samples(language: str) -> list[tuple[str, str, str]]:
    """(name, sample, tests) of HumanEval_0.._2 correct and HumanEval_2 wrong: the sample is what the harness's
    generations file holds (prompt + completion), to which it appends "\n" + the row's tests to make the program."""
    problems = rows(language)
    named = [(f"HumanEval_{i} correct", problems[i], body) for i, body in enumerate(CORRECT[language])]
    named.append(("HumanEval_2 wrong", problems[2], WRONG[language]))
    return [(name, row["prompt"] + body, row["tests"]) for name, row, body in named]


def executor_row(language: str, program: str) -> tuple[str, str, str]:
    """(executor language, solution, tests) of one MultiPL-E program."""
    if language == "java":
        return EXECUTOR_LANGUAGE[language], program, JAVA_TESTS
    start = program.index(TESTS_START[language])
    return EXECUTOR_LANGUAGE[language], program[:start], program[start:]


def harness_verdicts(language: str, out_dir: Path, gens: Path) -> list[bool]:
    """Whether the harness ran each of `samples(language)` OK (its per-program results in the task's TMPDIR):
    problem i gets two samples, the correct one twice or (HumanEval_2) the correct and the wrong one."""
    c0, c1, c2, w2 = [sample for _, sample, _ in samples(language)]
    gens.write_text(json.dumps([[c0, c0], [c1, c1], [c2, w2]]))
    entry = bigcode.run_task(
        LANGUAGES[language],
        "known-answers",
        harness_dir=None,
        out_dir=out_dir,
        load_generations_path=gens,
        offline_data=FIXTURE,
    )
    run_dir = out_dir / entry["subsets"][f"multiple-{language}"]["run_dir"]
    statuses = {}
    for path in (run_dir / "tmp").glob("*.results.json"):
        result = json.loads(path.read_text())
        statuses[result["name"].split("_")[1]] = [r["status"] == "OK" for r in result["results"]]
    return [statuses["0"][0], statuses["1"][0], statuses["2"][0], statuses["2"][1]]


@pytest.mark.slow
@pytest.mark.parametrize("language", list(EXECUTOR_LANGUAGE))
def test_the_harness_and_the_executor_agree(language, executor, tmp_path, build):
    harness_or_skip()
    need(EXECUTOR_LANGUAGE[language])
    named = [(name, sample + "\n" + tests) for name, sample, tests in samples(language)]
    harness = harness_verdicts(language, build / "out", tmp_path / "gens.json")
    assert harness == [True, True, True, False]  # the known answers, through the harness

    if language == "java":
        as_is = run_all(executor, [executor_row(language, program) for _, program in named])
        assert {r.status for r in as_is} == {"compile_error"}
        assert all("package org.javatuples does not exist" in r.output for r in as_is)
        named = [(name, program.replace(JAVATUPLES, "", 1)) for name, program in named]
    results = run_all(executor, [executor_row(language, program) for _, program in named])
    ours = [r.status == "pass" for r in results]
    assert ours == harness, {name: (r.status, r.output[-500:]) for (name, _), r in zip(named, results, strict=True)}
    assert [r.status for r in results] == ["pass", "pass", "pass", "fail"]
