"""Mutants of whole solution files (`execution.mutation`) and the execute stage's mutation run (`execute_mutants`)
through the real executor and bubblewrap sandbox: in every installed language, a row whose tests check the solution
scores above 0, and the same solution with `assert 0 == 0`-style tests scores exactly 0."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from bench.execution import SAMPLES
from dataset_builder.config import BuilderConfig
from dataset_builder.execution.mutation import MUTATORS, mutants, sites
from dataset_builder.stages import execute_mutants
from dataset_builder.stages.execute import Execute
from tests.helpers.execution import need, needs_bwrap

TRIVIAL = {  # tests that pass whatever the solution does: they never call it
    "python": "from solution import *\nassert 0 == 0\n",
    "cpp": "#include <cassert>\nint main() {\n    assert(0 == 0);\n    return 0;\n}\n",
    "java": "public class SolutionTest {\n    public static void main(String[] args) {\n        assert 0 == 0;\n"
    "    }\n}\n",
    "typescript": 'import * as assert from "assert";\nassert.strictEqual(0, 0);\n',
    "shell": "#!/bin/bash\nsource ./solution.sh\n[[ 0 == 0 ]] || exit 1\n",
    "csharp": "public class SolutionTests {\n    public static void Main() {\n"
    '        if (0 != 0) throw new System.Exception("0");\n    }\n}\n',
    "rust": "fn main() {\n    assert_eq!(0, 0);\n}\n",
    "php": "<?php\nassert(0 === 0);\n",
}
SLOW = ("java", "typescript")  # a compile of several seconds per mutant


def found(text: str, language: str) -> set[tuple[str, str, str]]:
    """(mutator, original text, replacement) of every site."""
    return {(s.mutator, text[s.start : s.end], s.replacement) for s in sites(text, language)}


def test_every_mutator_finds_its_sites_and_leaves_strings_and_comments_alone():
    code = (
        'def f(n):\n    s = "a < b 7"  # x == 3\n    total = 0\n    if n >= 2:\n        return n - 1\n    return s\n'
    )
    assert found(code, "python") == {
        ("flip_comparison", ">=", "<"),
        ("constant", "0", "1"),
        ("constant", "2", "3"),
        ("constant", "2", "1"),
        ("constant", "1", "2"),
        ("constant", "1", "0"),
        ("default_return", "n - 1", "None"),
        ("default_return", "s", "None"),
        ("remove_statement", "    total = 0", "    pass"),
    }
    assert {s.mutator for s in sites(code, "python")} == set(MUTATORS)


def test_generics_redirections_and_declarations_are_not_mutated():
    java = "class A {\n    static List<Integer> f(int n) {\n        int k = n;\n        g(k);\n        return null;\n"
    java += "    }\n}\n"
    # no flip in List<Integer>, the declaration kept; `return null` returns the default already: an identical mutant
    assert found(java, "java") == {
        ("remove_statement", "        g(k);", "        "),
        ("default_return", "null", "null"),
    }
    shell = 'f() {\n    echo "$1" > out.txt\n    [ "$1" -lt 3 ] && return 1\n}\n'
    assert ("flip_comparison", ">", "<=") not in found(shell, "shell")
    assert {("flip_comparison", "-lt", "-ge"), ("default_return", "1", "0")} <= found(shell, "shell")
    assert found("#include<vector>\nint f(int n) {\n    return n;\n}\n", "cpp") == {("default_return", "n", "{}")}
    generics = "auto g = static_cast<int>(x) + f<3;\ntemplate<typename T> T h();\nstd::vector<int>(n);\n"
    assert {s for s in found(generics, "cpp") if s[0] == "flip_comparison"} == {("flip_comparison", "<", ">=")}
    assert found("def f(n):\n    return n  # the same n\n", "python") == {("default_return", "n", "None")}
    assert found("function f(): boolean {\n    return g();\n}\n", "typescript") == {("default_return", "g()", "false")}
    two = "function f(): number[] {\n    return g();\n}\nfunction h(): number { return h(); }\n"
    assert {s for s in found(two, "typescript") if s[0] == "default_return"} == {
        ("default_return", "g()", "[]"),
        ("default_return", "h()", "0"),  # the signature on the return's own line
    }


def test_the_row_picks_the_same_mutants_every_time_and_counts_identical_and_unparsable_ones_apart():
    solution, _ = (text.replace("{k}", "3") for text in SAMPLES["python"])
    first = mutants(7, solution, "python", 4)
    assert first == mutants(7, solution, "python", 4) and len(first) == 4
    assert len({m.text for m in first}) == 4 and all(m.text != solution for m in first)
    picks = {tuple(m.text for m in mutants(key, solution, "python", 4)) for key in range(20)}
    assert len(picks) > 1  # seeded by the row: other rows get other mutants
    assert mutants(7, solution, "python", 0) == []
    assert len(mutants(7, solution, "python", 100)) == len(sites(solution, "python"))
    (same,) = mutants(1, "def f():\n    return None\n", "python", 5)
    assert (same.mutator, same.valid, same.why) == ("default_return", False, "identical")
    (broken,) = mutants(1, "def f():\n    x = 1\n", "python", 5)[-1:]  # the body's only statement becomes `pass`
    assert broken.valid  # `pass` keeps the block
    unparsable = [m for m in mutants(1, "x = [\n    a\n]\n", "python", 5) if m.mutator == "remove_statement"]
    assert unparsable == []  # the middle of a bracket is never a statement


def test_mutation_is_off_by_default_and_leaves_the_fingerprint_as_it_was():
    today = {
        "sandbox",
        "exec_timeout",
        "exec_compile_timeout",
        "exec_memory_mb",
        "typescript_typecheck",
        "verify_keep",
    }
    assert set(Execute().fingerprint_inputs(BuilderConfig())) == today
    assert Execute().fingerprint_inputs(BuilderConfig(mutants_per_row=0)) == Execute().fingerprint_inputs(
        BuilderConfig()
    )
    on = Execute().fingerprint_inputs(BuilderConfig(mutants_per_row=3, min_mutation_score=0.5))
    assert on["mutants_per_row"] == 3 and on["min_mutation_score"] == 0.5


def test_a_floor_without_mutants_names_the_fix():
    from dataset_builder.config import ConfigError

    with pytest.raises(ConfigError, match="set `mutants_per_row`"):
        BuilderConfig(min_mutation_score=0.5)
    with pytest.raises(ConfigError, match="from 0 to 1"):
        BuilderConfig(mutants_per_row=2, min_mutation_score=2)
    with pytest.raises(ConfigError, match="must be >= 0"):
        BuilderConfig(mutants_per_row=-1)


def score_rows(executor, build, language: str, k: int, tests: dict[int, str]) -> tuple[dict, list[dict]]:
    """Rows {raw_index: tests} of the language's sample solution through the stage's mutation run (as passing rows):
    their mutation columns and the journal."""
    solution, strong = (text.replace("{k}", "3") for text in SAMPLES[language])
    rows = [
        {"raw_index": key, "lang": language, "response": f"```{language}\n{solution}```", "tests": t}
        for key, t in tests.items()
    ]
    results = {key: {"exec_status": "pass"} for key in tests}
    run_dir = SimpleNamespace(path=build / f"run-{language}")
    scored = execute_mutants.run(k, run_dir, executor, rows, results, "response")
    journal = [json.loads(line) for line in (run_dir.path / "mutants.jsonl").read_text().splitlines()]
    return scored, journal


@needs_bwrap
@pytest.mark.parametrize(
    "language", [pytest.param(lang, marks=pytest.mark.slow) if lang in SLOW else lang for lang in TRIVIAL]
)
def test_strong_tests_score_above_zero_and_trivial_tests_score_zero(executor, build, language):
    need(language)
    strong = SAMPLES[language][1].replace("{k}", "3")
    scored, journal = score_rows(executor, build, language, 4, {1: strong, 2: TRIVIAL[language]})
    good, trivial = scored[1], scored[2]
    assert good["tests_mutants"] >= 1 and good["tests_mutation_score"] > 0, good
    assert trivial["tests_mutants"] >= 1 and trivial["tests_killed"] == 0 and trivial["tests_mutation_score"] == 0
    assert good["tests_mutants"] + good["tests_mutants_invalid"] == min(4, len(sites_of(language)))
    assert len({row["mutant"] for row in journal}) == len(journal)  # each mutant ran once


def sites_of(language: str):
    return sites(SAMPLES[language][0].replace("{k}", "3"), language)


@needs_bwrap
def test_a_rerun_runs_no_stored_mutant_again(executor, build, caplog):
    need("python")
    strong = SAMPLES["python"][1].replace("{k}", "3")
    scored, journal = score_rows(executor, build, "python", 3, {5: strong})
    assert len(journal) == 3
    # the journal of an interrupted run: the first mutant stored, a torn line after it
    path = build / "run-python" / "mutants.jsonl"
    path.write_text(json.dumps(journal[0]) + "\n" + '{"mutant": "5.m1", "exec_st')
    caplog.clear()
    with caplog.at_level("INFO"):
        again, after = score_rows(executor, build, "python", 3, {5: strong})
    assert "mutants of 1 passing rows: 1 run before, 2 to run" in caplog.text
    assert after[0] == journal[0] and len(after) == 3 and len({row["mutant"] for row in after}) == 3
    assert again == scored


@needs_bwrap
def test_a_mutant_that_does_not_compile_is_not_valid_and_not_a_kill(executor, build):
    need("rust")
    solution = "pub fn top() -> u8 {\n    let x: u8 = 255;\n    x\n}\n"  # 256 is out of u8's range: rustc refuses it
    rows = [{"raw_index": 3, "lang": "rust", "response": f"```rust\n{solution}```", "tests": RUST_TOP}]
    run_dir = SimpleNamespace(path=build / "run-rust-top")
    scored = execute_mutants.run(4, run_dir, executor, rows, {3: {"exec_status": "pass"}}, "response")
    stages = {json.loads(line)["stage"] for line in (run_dir.path / "mutants.jsonl").read_text().splitlines()}
    assert stages == {"compile", "run"}
    row = scored[3]
    assert (row["tests_mutants"], row["tests_mutants_invalid"], row["tests_killed"]) == (1, 1, 1)
    assert row["tests_mutation_score"] == 1.0  # 254 was killed; 256 counts for nothing


RUST_TOP = "fn main() {\n    assert_eq!(top(), 255);\n}\n"


def test_the_stats_and_the_card_show_the_distribution_per_language_and_what_the_floor_removed(caplog):
    from collections import Counter

    from dataset_builder.verification_mutation import mutation_section

    def row(valid, killed, invalid=0):
        score = killed / valid if valid else None
        counts = Counter({"constant/valid": valid, "constant/killed": killed, "constant/invalid": invalid})
        return {"tests_mutants": valid, "tests_killed": killed, "tests_mutants_invalid": invalid,
                "tests_mutation_score": score, "_by_mutator": counts}  # fmt: skip

    scored = {0: row(4, 4), 1: row(4, 0), 2: row(3, 1, invalid=1), 3: row(0, 0, invalid=2), 5: row(2, 1)}
    languages, keys = ["python", "python", "cpp", "cpp", "cpp", "rust"], [0, 1, 2, 3, 4, 5]
    reasons = execute_mutants.reasons([scored.get(k, {}).get("tests_mutation_score") for k in keys], 0.5)
    assert reasons == [None, "mutation_score", "mutation_score", None, None, None]  # no score (3, 4): not judged
    with caplog.at_level("WARNING"):
        stats = execute_mutants.stats(3, 0.5, languages, keys, scored, [r is not None for r in reasons])
    assert "the tests of 1 passing rows kill no mutant" in caplog.text and "raw_index 1" in caplog.text
    assert stats["by_language"]["cpp"] == {
        "rows": 1, "unscored": 1, "mutants": 3, "killed": 1, "invalid": 3, "removed": 1,
        "bins": {"0": 0, "(0, 0.5)": 1, "[0.5, 1)": 0, "1": 0},
    }  # fmt: skip
    assert stats["by_language"]["python"]["bins"] == {"0": 1, "(0, 0.5)": 0, "[0.5, 1)": 0, "1": 1}
    assert stats["by_mutator"] == {"constant": {"invalid": 3, "killed": 6, "valid": 13}}
    assert (stats["zero_score_rows"], stats["zero_score_examples"]) == (1, [1])
    card = "\n".join(mutation_section(stats))
    assert "| python | 2 | 8 | 4 | 0.50 | 1 | 0 | 0 | 1 | 0 | 0 | 1 |" in card
    assert "| rust | 1 | 2 | 1 | 0.50 | 0 | 0 | 1 | 0 | 0 | 0 | 0 |" in card
    assert "`min_mutation_score: 0.5`: 2 rows" in card and "`constant` 6/13 (3 not valid)" in card
    off = "\n".join(mutation_section(execute_mutants.stats(3, None, languages, keys, scored, [False] * 6)))
    assert "`min_mutation_score`: not set" in off
