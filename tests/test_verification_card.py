"""The dataset card's Verification section: funnel per language, results, toolchains, sandbox, tests prompt, figure.

The run folders of both verified pipelines (oss_instruct_verified and verify) are written by hand with a few rows
per stage, so these tests depend on neither the tests nor the execute stage's code.
"""

from collections import Counter

import pytest

from dataset_builder import prompts, verification_report
from dataset_builder.runs import DropCounter, RunDir, fingerprint
from tests.helpers.publish_chain import ROWS, build, front_matter, make_chain, make_config

LIMITS = {"wall_seconds": 10.0, "cpu_seconds": 10, "memory_bytes": 2 << 30, "output_bytes": 1 << 20}


def _row(i: int, lang: str, **extra) -> dict:
    row = {"raw_index": i, "lang": lang, "license": "mit", "problem": f"Problem {i}."}
    return row | {"solution": f"```{lang}\ncode {i}\n```"} | extra


def _rows(langs: dict[str, int], **extra) -> list[dict]:
    out = []
    for lang, n in langs.items():
        out += [_row(len(out), lang, **extra) for _ in range(n)]
    return out


def _dataset(rows: list[dict], reject: bool = False):
    from datasets import Dataset

    if not rows:
        return Dataset.from_dict({"raw_index": [], "reason": []} if reject else {"raw_index": [], "lang": []})
    return Dataset.from_list(rows)


def write_chain(out, config, steps) -> RunDir:
    """Run folders written by hand: each step is (stage, kept rows, rejected rows, stats extras, fingerprint inputs);
    rows_in/kept/dropped come from the rows."""
    upstream = None
    for stage, kept, rejects, extras, inputs in steps:
        inputs = inputs | {"rows": len(kept)}
        run = RunDir(out, stage, fingerprint(stage, 1, inputs, upstream and upstream.fingerprint))
        run.prepare(config.to_dict(), inputs, upstream)
        counts = DropCounter(len(kept), Counter(r["reason"] for r in rejects))
        run.save(_dataset(kept), _dataset(rejects, reject=True), counts, **extras)
        upstream = run
    return upstream


def reindex(rows):
    return [r | {"raw_index": i} for i, r in enumerate(rows)]


# --- oss_instruct_verified: seeds -> generate -> parse -> tests -> execute -> clean -> decontaminate -> publish ------

SEEDS = reindex(_rows({"python": 4, "rust": 2, "cpp": 2, "swift": 1, "kotlin": 1}))
STATUS = {0: "pass", 1: "pass", 2: "fail", 6: "compile_error", 7: "fail", 8: "no_toolchain", 9: "unsupported_language"}
STATUS |= {5: "pass"}  # raw_index 3 has no tests, 4 (rust) was truncated


def _exec(row):
    status = STATUS[row["raw_index"]]
    return row | {"exec_status": status, "exec_seconds": 0.5, "exec_output": "", "exec_toolchain": "t"}


def verified_steps(keep="passed", sandbox="bubblewrap 0.8.0"):
    parsed = [r for r in SEEDS if r["raw_index"] != 4]
    tested = [r | {"tests": "assert True"} for r in parsed if r["raw_index"] != 3]
    ran = [_exec(r) for r in tested]
    passed = [r for r in ran if r["exec_status"] == "pass"]
    failed = [r | {"reason": r["exec_status"]} for r in ran if r["exec_status"] != "pass"]
    kept = ran if keep == "all" else passed
    cleaned = [r for r in kept if r["raw_index"] != 1]  # a duplicate
    by_language = {
        "python": {"pass": 2, "fail": 1},
        "rust": {"pass": 1},
        "cpp": {"compile_error": 1, "fail": 1},
        "swift": {"no_toolchain": 1},
        "kotlin": {"unsupported_language": 1},
    }
    execute = {
        "by_language": by_language,
        "toolchains": {"python": "Python 3.11.2", "rust": "rustc 1.63.0", "cpp": "g++ 12.2.0", "swift": None},
        "sandbox": sandbox,
        "limits": LIMITS,
        "row_limits": "cgroup v1 (memory with swap, pids, cpuacct)",
        "options": {"typescript_typecheck": "report"},
        "verify_keep": keep,
    }
    tests_inputs = {
        "teacher_model": "fake-teacher",
        "system_prompt": "You write unit tests, recorded verbatim.",
        "user_template": "Problem:\n{problem}\nSolution:\n{solution}\nWrite {lang} tests.",
        "harness": {"python": "tests start with `from solution import *`", "java": "a class SolutionTest"},
    }
    return [
        ("seeds", SEEDS, [], {}, {}),
        ("generate", SEEDS, [], {"usage": {"prompt_tokens": 10}}, {"teacher_model": "fake-teacher"}),
        ("parse", parsed, [SEEDS[4] | {"reason": "truncated"}], {}, {}),
        ("tests", tested, [parsed[3] | {"reason": "no_tests"}], {"usage": {"completion_tokens": 77}}, tests_inputs),
        ("execute", kept, [] if keep == "all" else failed, execute, {}),
        ("clean", cleaned, [r | {"reason": "duplicate_seed"} for r in kept if r["raw_index"] == 1], {}, {}),
        ("decontaminate", cleaned, [], {}, {}),
    ]


def card_of(run_dir) -> str:
    return (run_dir.path / "hub" / "README.md").read_text()


@pytest.fixture(scope="module")
def verified(tmp_path_factory):
    out = tmp_path_factory.mktemp("verified")
    config = make_config(out, pipeline="oss_instruct_verified", variants=[])
    return build(config, write_chain(out, config, verified_steps()))


def test_the_funnel_per_language_and_in_total(verified):
    text = card_of(verified)
    assert "## Verification" in text
    assert "| language | seeds | answers | parsed | with tests | executed | passed | published |" in text
    assert "| cpp | 2 | 2 | 2 | 2 | 2 | 0 | 0 |" in text  # a language where nothing passed
    assert "| kotlin | 1 | 1 | 1 | 1 | 0 | 0 | 0 |" in text  # not executed: unsupported
    assert "| python | 4 | 4 | 4 | 3 | 3 | 2 | 1 |" in text
    assert "| rust | 2 | 2 | 1 | 1 | 1 | 1 | 1 |" in text
    assert "| swift | 1 | 1 | 1 | 1 | 0 | 0 | 0 |" in text  # not executed: no toolchain
    assert "| **all** | 10 | 10 | 9 | 8 | 6 | 3 | 2 |" in text


def test_results_toolchains_and_rows_not_run(verified):
    text = card_of(verified)
    assert "| language | executed | passed | pass rate | fail | compile_error |" in text
    assert "| cpp | 2 | 0 | 0.0% | 1 | 1 |" in text
    assert "| python | 3 | 2 | 66.7% | 1 | 0 |" in text
    assert "| kotlin | 0 | 0 | - | 0 | 0 |" in text
    assert "| **all** | 6 | 3 | 50.0% | 2 | 1 |" in text
    assert "- swift: 1 row not run: no toolchain (`swiftc`) on the build machine (`no_toolchain`)" in text
    assert "- kotlin: 1 row not run: no runner for this language (`unsupported_language`)" in text
    assert "| cpp | `g++ 12.2.0` |" in text and "| swift | not installed |" in text
    assert "- Sandbox: `bubblewrap 0.8.0`" in text and "Warning: no sandbox" not in text
    assert "`memory_bytes` 2 GiB" in text and "`output_bytes` 1 MiB" in text and "`wall_seconds` 10.0" in text
    assert "- Limits held by cgroup v1 (memory with swap, pids, cpuacct): each row's whole process tree" in text
    assert "a syscall filter" in text and "- `typescript_typecheck`: report" in text
    assert "`exec_status: pass` means the tests' own code ran to its end and every check held" in text
    assert "deliberate forgery" in text  # what the verdict cannot rule out is said
    assert "`verify_keep: passed`: only rows whose tests passed are published" in text


def test_the_tests_prompt_is_verbatim_and_the_numbers_are_not_counted_twice(verified):
    text = card_of(verified)
    assert "You write unit tests, recorded verbatim." in text
    assert "Problem:\n{problem}\nSolution:\n{solution}\nWrite {lang} tests." in text
    assert "tests start with `from solution import *`" in text
    assert "a class SolutionTest" not in text  # how tests run in a language the build does not have
    assert '- Usage: `{"completion_tokens": 77}`' in text
    assert prompts.SYSTEM in text  # the paper's prompt is still there
    # the summary: the published rows once, every stage's counts once
    meta = front_matter(text)
    assert meta["dataset_info"][0]["splits"][0]["num_examples"] == 2
    assert "2 coding problems with solutions made with OSS-Instruct" in text
    assert "| execute | 8 | 3 | compile_error = 1, fail = 2, no_toolchain = 1, unsupported_language = 1 |" in text
    assert "| tests | 9 | 8 | no_tests = 1 |" in text
    assert "| publish | 2 | 2 | none |" in text
    assert text.count("## Verification") == 1


def test_the_figure_is_beside_the_card(verified):
    figure = verified.path / "hub" / "figures" / verification_report.FIGURE
    assert figure.read_bytes().startswith(b"\x89PNG")
    assert f"](figures/{verification_report.FIGURE})" in card_of(verified)


# --- verify: source -> tests -> execute -> decontaminate -> publish, keep all, no sandbox ---------------------------


def test_verify_pipeline_keep_all_without_a_sandbox(tmp_path, monkeypatch):
    monkeypatch.setattr(prompts, "TESTS_SYSTEM", "System text of the tests prompt.", raising=False)
    monkeypatch.setattr(prompts, "TESTS_USER_TEMPLATE", "User text: {problem}", raising=False)
    monkeypatch.setattr(prompts, "HARNESS", {"shell": "tests `source ./solution.sh`"}, raising=False)
    config = make_config(
        tmp_path,
        pipeline="verify",
        verify_dataset="ise-uiuc/Magicoder-OSS-Instruct-75K",
        verify_keep="all",
        sandbox="none",
        variants=[],
    )
    source = reindex(_rows({"python": 3, "shell": 1, "php": 1}))
    tested = [r | {"tests": "t"} for r in source if r["lang"] != "php"]
    statuses = ["pass", "pass", "timeout", "fail"]
    ran = [r | {"exec_status": s, "exec_seconds": 1.0} for r, s in zip(tested, statuses, strict=True)]
    published = ran[1:]  # the first row is contaminated
    execute = {"toolchains": {"python": "Python 3.11.2", "shell": "GNU bash 5.2.15"}, "sandbox": "none"}
    execute |= {"limits": LIMITS, "verify_keep": "all"}  # no by_language: counted from the rows
    steps = [
        ("source", source, [], {}, {}),
        ("tests", tested, [source[4] | {"reason": "no_tests"}], {}, {"teacher_model": "fake-teacher"}),
        ("execute", ran, [], execute, {}),
        ("decontaminate", published, [ran[0] | {"reason": "humaneval"}], {}, {}),
    ]
    run_dir = build(config, write_chain(tmp_path, config, steps))
    text = card_of(run_dir)
    assert "solutions from an existing dataset (below), each solution run against tests" in text
    assert "1 of the 3 rows pass them" in text
    assert "- Dataset: ise-uiuc/Magicoder-OSS-Instruct-75K, split `train`, revision `main`" in text
    assert "| language | source rows | with tests | executed | passed | published and passed |" in text
    assert "| php | 1 | 0 | 0 | 0 | 0 |" in text
    assert "| python | 3 | 3 | 3 | 2 | 1 |" in text
    assert "| shell | 1 | 1 | 1 | 0 | 0 |" in text
    assert "| **all** | 5 | 4 | 4 | 2 | 1 |" in text
    assert "it also holds 2 rows that did not" in text
    assert "| python | 3 | 2 | 66.7% | 0 | 1 |" in text  # fail, timeout
    assert "**Warning: no sandbox.**" in text and "without isolation" in text
    assert 'ds = ds.filter(lambda r: r["exec_status"] == "pass")' in text
    assert "System text of the tests prompt." in text and "User text: {problem}" in text
    assert "tests `source ./solution.sh`" in text
    assert "Case-insensitive exact substring match of benchmark strings in problem + solution" in text
    assert "## Seed corpus" not in text and "## Prompt" not in text  # no seeds, no generate
    assert (run_dir.path / "hub" / "figures" / verification_report.FIGURE).exists()


def test_a_build_without_an_execute_stage_has_no_verification(tmp_path):
    import json

    config = make_config(tmp_path, variants=[])
    run_dir = build(config, make_chain(tmp_path, ROWS, config))
    text = card_of(run_dir)
    assert "## Verification" not in text and "passed teacher-written tests" not in text
    assert "verification" not in json.loads((run_dir.path / "hub" / "build.json").read_text())["card"]
    assert not (run_dir.path / "hub" / "figures").exists()


# --- the functions on their own -----------------------------------------------------------------------------------


def test_funnel_with_no_rows_executed(tmp_path):
    config = make_config(tmp_path)
    steps = [
        ("source", reindex(_rows({"swift": 2})), [], {}, {}),
        ("tests", [], [r | {"reason": "no_tests"} for r in reindex(_rows({"swift": 2}))], {}, {}),
        ("execute", [], [], {"by_language": {}, "verify_keep": "passed"}, {}),
    ]
    last = write_chain(tmp_path, config, steps)
    assert verification_report.funnel(last.lineage()) == {
        "columns": ["source rows", "with tests", "executed", "passed", "published"],
        "rows": [["swift", 2, 0, 0, 0, 0], ["all", 2, 0, 0, 0, 0]],
    }


@pytest.mark.parametrize("n", [1, 9])
def test_the_figure_draws_one_to_nine_languages(tmp_path, n):
    from PIL import Image

    langs = ["python", "cpp", "java", "typescript", "shell", "csharp", "rust", "php", "swift"][:n]
    rep = {
        "funnel": {
            "columns": ["seeds", "answers", "parsed", "with tests", "executed", "passed", "published"],
            "rows": [[lang, 9, 9, 8, 7, 6, i % 4, i % 3] for i, lang in enumerate(langs)] + [["all"] + [0] * 7],
        },
        "statuses": {lang: {"pass": i % 4, "fail": 2, "timeout": 1} for i, lang in enumerate(langs)},
    }
    path = verification_report.plot(rep, tmp_path / "v.png")
    width, height = Image.open(path).size
    assert width > 1000 and 200 < height < 1600
