"""The verification executor on external benchmarks (HumanEval-X, MBXP; rows in tests/fixtures/external): every
reference passes through the real executor and bubblewrap, and per benchmark and language the executor kills at least
as many mutants as the benchmark's own single-file harness. The default run takes the first usable row of each
benchmark and language; the `slow` variant takes every usable fixture row (regression rows included).

A reference that fails today because of a known executor gap is `xfail(strict=True)` with the gap, so the test
flips to a failure (remove the entry then) when the fix lands."""

from __future__ import annotations

import re
import shutil
from functools import cache

import pytest

from bench.external import loaders
from dataset_builder.execution.mutators import default_return, flip_comparison, mutants, off_by_one

bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap missing: apt-get install -y bubblewrap")
SETS = [key for key in loaders.FILES]

# rows a known executor gap fails (each a strict xfail, so it flips when the gap is closed): none at present
KNOWN_GAPS: dict[str, str] = {}


def _problems(benchmark: str, language: str, rows: int | None) -> list[loaders.Problem]:
    """The first `rows` usable fixture rows (None: all of them, the regression rows included)."""
    problems = loaders.load(loaders.fixtures_dir(), benchmark, language)
    return [p for p in problems if p.excluded is None][:rows]


@cache
def _evaluated(benchmark: str, language: str, rows: int | None):
    from bench.external.evaluate import evaluate

    return evaluate(_problems(benchmark, language, rows), "bwrap", workers=2)


def _cases(rows: int | None, marks=()) -> list:
    cases = []
    for benchmark, language in SETS:
        for problem in _problems(benchmark, language, rows):
            gap = KNOWN_GAPS.get(problem.task_id)
            extra = [pytest.mark.xfail(strict=True, reason=gap)] if gap else []
            cases.append(pytest.param(benchmark, language, problem.task_id, rows, marks=[*marks, *extra]))
    return cases


def _check_reference(benchmark: str, language: str, task_id: str, rows: int | None) -> None:
    row = next(r for r in _evaluated(benchmark, language, rows) if r.problem.task_id == task_id)
    if row.excluded is not None:
        pytest.skip(row.excluded)
    if row.own != "pass":  # a broken reference is the benchmark's problem, not the executor's
        pytest.skip(
            f"{task_id}: the benchmark's own harness fails its reference too ({row.own}): {row.own_output[-200:]!r}"
        )
    if row.ours != "pass" and re.search(r"error TS1\d{3}:", row.ours_output):
        pytest.skip(  # the lenient harness runs whatever tsc emitted; ours does not pass code that does not parse
            f"{task_id}: the reference does not parse (TypeScript syntax errors): its own harness passes whatever tsc "
            "emitted from it"
        )
    assert row.ours == "pass", f"{task_id}: {row.ours}: {row.ours_output[-1500:]}"


def _check_kills(benchmark: str, language: str, rows: int | None) -> None:
    from bench.external.evaluate import summarize

    if not _problems(benchmark, language, rows):
        pytest.skip(f"no usable {benchmark} {language} rows (all excluded)")
    evaluated = _evaluated(benchmark, language, rows)
    if all(r.excluded is not None for r in evaluated):
        pytest.skip(evaluated[0].excluded)
    s = summarize(evaluated)
    if s["valid"] == 0:
        pytest.skip(f"no valid mutants: no {benchmark} {language} reference passes both harnesses yet (see above)")
    missed = [
        (r.problem.task_id, m.mutator)
        for r in evaluated
        for m in r.mutants
        if m.valid and m.ours == "pass" and m.own != "pass"
    ]
    assert s["killed_ours"] >= s["killed_own"], f"mutants the own harness kills and the executor passes: {missed}"


@bwrap
@pytest.mark.parametrize(("benchmark", "language", "task_id", "rows"), _cases(1))
def test_reference_passes(benchmark, language, task_id, rows):
    _check_reference(benchmark, language, task_id, rows)


@bwrap
@pytest.mark.parametrize(("benchmark", "language"), SETS)
def test_executor_kills_at_least_what_the_own_harness_kills(benchmark, language):
    _check_kills(benchmark, language, 1)


@bwrap
@pytest.mark.slow
@pytest.mark.parametrize(("benchmark", "language", "task_id", "rows"), _cases(None))
def test_reference_passes_all_fixtures(benchmark, language, task_id, rows):
    _check_reference(benchmark, language, task_id, rows)


@bwrap
@pytest.mark.slow
@pytest.mark.parametrize(("benchmark", "language"), SETS)
def test_executor_kills_at_least_what_the_own_harness_kills_all_fixtures(benchmark, language):
    _check_kills(benchmark, language, None)


# ------------------------------------------------------------------------------------------- without a sandbox
@pytest.mark.parametrize(
    "reason",
    [
        "empty canonical_solution",
        "canonical_solution truncated: it never closes the function",
        "canonical_solution leaves PHP mode (?>): the benchmark's harness prints its tests, never runs them",
        "third-party library: boost",
        "third-party library: -lcrypto",
        "external crate: rand",
        "external crate: regex",
        "external crate: md5",
        "npm package: js-md5",
        "npm package: lodash",
        "npm package: mathjs",
        "NuGet package: CompareNetObjects",
    ],
)
def test_fixture_rows_needing_what_the_sandbox_lacks_are_excluded_with_the_reason(reason):
    found = [
        p.task_id for b, lang in SETS for p in loaders.load(loaders.fixtures_dir(), b, lang) if p.excluded == reason
    ]
    assert found, f"no fixture row is excluded for {reason!r}"


def test_adaptations_follow_the_harness_text():
    python = loaders.load(loaders.fixtures_dir(), "mbxp", "python")[0]
    assert python.tests.startswith("from solution import *") and python.tests.rstrip().endswith("check(min_cost)")
    js = loaders.load(loaders.fixtures_dir(), "humaneval-x", "js")[0]
    assert "console.assert" not in js.tests and "console.assert" in js.own_tests
    rust = loaders.load(loaders.fixtures_dir(), "humaneval-x", "rust")[0]
    assert "use rand" not in rust.solution() and "use std::" in rust.solution()


def test_default_return_keeps_the_braces_after_the_function():
    body = "        for (int i = 0; i < n; i++) { if (s.charAt(i) == '}') return 1; }\n        return 0;\n    }\n}"
    mutated = default_return("class A {\n    public int f(String s, int n) {\n", body, "java")
    assert mutated == "\n    return 0;\n    }\n}"
    assert default_return("std::vector<int> f(int n){\n", "  return {n};\n}\n", "cpp") == "\n    return {};\n}\n"
    assert default_return("def f(x):\n", "\tif x:\n\t\treturn 1\n\treturn 2\n", "python") == "\treturn None\n"
    ts = "const f = function (a: Array<number>) : Array<number>  {\n"
    assert default_return(ts, "  return a;\n}", "typescript") == "\n    return [];\n}"


def test_flip_comparison_skips_generics_strings_and_arrows():
    assert (
        flip_comparison("", "  vector<int> v; if (a<b) return 1;\n}", "cpp")
        == "  vector<int> v; if (a>=b) return 1;\n}"
    )
    assert flip_comparison("", '  s = "a == b"\n  return x == 1\n', "python") == '  s = "a == b"\n  return x != 1\n'
    assert flip_comparison("", "  let v: Vec<i32> = x.iter().map(|a| a * 2).collect();\n}", "rust") is None
    assert flip_comparison("", "  return a.filter(x => x !== 0)\n}", "js") == "  return a.filter(x => x === 0)\n}"


def test_off_by_one_changes_the_first_integer_outside_strings_and_names():
    assert (
        off_by_one("", '  s = "3"\n  for i in range(x2, 10):\n', "python") == '  s = "3"\n  for i in range(x2, 11):\n'
    )
    assert off_by_one("", "  return 1.5\n", "python") is None


def test_mutants_are_deterministic_and_include_identical_ones_for_counting():
    body = "    return None\n"
    assert mutants("def f():\n", body, "python") == [("default_return", body)]
    problem = loaders.load(loaders.fixtures_dir(), "humaneval-x", "cpp")[0]
    assert mutants(problem.prefix, problem.body, "cpp") == mutants(problem.prefix, problem.body, "cpp")
