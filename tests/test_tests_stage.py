"""The tests stage: the prompt, code blocks, the answer -> row logic, and the stage against a loopback teacher."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dataset_builder import code_blocks, prompts
from dataset_builder.cli import parse_config
from dataset_builder.stages import tests as tests_stage
from dataset_builder.stages.generate import StopRequested
from dataset_builder.stages.tests import answer_columns, skip_reason
from dataset_builder.teacher.base import Request
from tests.helpers.runs import load_rejects
from tests.helpers.teacher_server import TeacherServer
from tests.helpers.tests_stage import make_upstream, run_tests_stage, stage_run_dir

ROOT = Path(__file__).resolve().parents[1]

# What the executor lays out per language (execution/toolchains.py): the harness must say it.
HARNESS_MUST_SAY = {
    "python": ["solution.py", "test_solution.py", "from solution import *", "assert", "unittest.main()"],
    "cpp": ["solution.cpp", "test.cpp", "main.cpp", "#include", "int main()", "<cassert>", "renamed"],
    "java": [
        "SolutionTest.java",
        "public class SolutionTest",
        "java -ea SolutionTest",
        "`package` lines are removed",
        "`import` lines are added",
        "System.exit(0)",
    ],
    "typescript": ["main.ts", "node main.js", "do not import the solution", "node:assert", "Throw"],
    "shell": ["solution.sh", "test.sh", "bash test.sh", "source ./solution.sh", "bash ./solution.sh ARGS", "non-zero"],
    "csharp": [
        "Solution.cs",
        "SolutionTests.cs",
        "(no namespace) `public static class SolutionTests`",
        "public static void Main()",
        "C# 7.2",
        "DEBUG and TRACE",
        "System.Numerics",
        "implicit usings",
        "`Debug.Assert`",
    ],
    "rust": ["main.rs", "`fn main` is renamed", "fn main()", "assert!", "assert_eq!"],
    "php": ["solution.php", "test.php", "<?php", "do not require or include solution.php", "exit(1)"],
    "swift": ["main.swift", "swiftc", "top-level code", "precondition"],
}


# --- the prompt ---------------------------------------------------------------------------------------------------


def test_every_language_has_a_harness_naming_the_executors_files():
    assert set(prompts.HARNESS) == set(HARNESS_MUST_SAY) == set(prompts.TEST_LANGUAGES)
    for lang, phrases in HARNESS_MUST_SAY.items():
        for phrase in phrases:
            assert phrase in prompts.HARNESS[lang], (lang, phrase)


@pytest.mark.parametrize("lang", sorted(HARNESS_MUST_SAY))
def test_tests_messages_carry_the_problem_solution_harness_and_fence(lang):
    solution = "```\ncode {with braces}\n```"
    system, user = prompts.tests_messages("  Sum {x}.  ", solution, lang)
    assert system == {"role": "system", "content": prompts.TESTS_SYSTEM}
    text = user["content"]
    assert user["role"] == "user"
    assert "[Problem Description]\nSum {x}.\n\n[Solution]\n" + solution in text
    assert prompts.HARNESS[lang] in text
    language, fence = prompts.TEST_LANGUAGES[lang]
    assert text.endswith(f"one ```{fence} code block.")
    assert f"Use only the {language} standard library" in text
    assert code_blocks.fence_language(fence) == lang  # the block asked for is the one code_in takes


def test_the_papers_prompt_is_unchanged_and_other_languages_get_no_prompt():
    assert prompts.SYSTEM.startswith("You are exceptionally skilled at crafting high-quality programming problems")
    assert prompts.messages("x")[1]["content"].startswith("Please gain inspiration")
    with pytest.raises(ValueError, match="no test harness for language 'go'"):
        prompts.tests_messages("p", "s", "go")


# --- code blocks --------------------------------------------------------------------------------------------------


def test_blocks_follow_commonmark_fences():
    text = (
        'Intro\n```python title="x.py"\nprint(1)\n```\nprose\n'
        "````markdown\n```python\ninner\n```\n````\n"
        "~~~\nbare ``` inside\n~~~\n"
        "  ```c++\n  int x;\n   int y;\n  ```\n"
        "```rs\nfn f() {}\n"
    )
    assert code_blocks.blocks(text) == [
        ('python title="x.py"', "print(1)"),
        ("markdown", "```python\ninner\n```"),
        ("", "bare ``` inside"),
        ("c++", "int x;\n int y;"),  # the opening fence's indent is removed
        ("rs", "fn f() {}"),  # unclosed last fence: taken to the end
    ]
    assert code_blocks.blocks("no fences") == []
    assert code_blocks.blocks("``` ``not a fence\n") == []  # a backtick fence's info has no backtick


@pytest.mark.parametrize(
    ("info", "lang"),
    [
        ("python", "python"),
        ("py", "python"),
        ("Python3", "python"),
        ('python title="x"', "python"),
        ("{.python}", "python"),
        ("c++", "cpp"),
        ("cpp", "cpp"),
        ("cs", "csharp"),
        ("c#", "csharp"),
        ("csharp", "csharp"),
        ("ts", "typescript"),
        ("typescript", "typescript"),
        ("sh", "shell"),
        ("bash", "shell"),
        ("shell", "shell"),
        ("rs", "rust"),
        ("rust", "rust"),
        ("php", "php"),
        ("swift", "swift"),
        ("java", "java"),
        ("", ""),
        ("text", "text"),
    ],
)
def test_fence_language_aliases(info, lang):
    assert code_blocks.fence_language(info) == lang


def test_code_in_takes_the_languages_blocks_else_the_bare_ones():
    answer = "Tests:\n```python\nimport x\n```\nOutput:\n```\n5\n```\n```java\nclass A {}\n```\n```py\nassert 1\n```"
    assert code_blocks.code_in(answer, "python") == "import x\n\nassert 1"
    assert code_blocks.code_in(answer, "java") == "class A {}"
    assert code_blocks.code_in(answer, "rust") == "5"  # only unlabelled blocks: taken
    assert code_blocks.code_in("```bash\necho hi\n```", "shell") == "echo hi"
    assert code_blocks.code_in("```sh\necho hi", "shell") == "echo hi"  # cut off: still the code
    assert code_blocks.code_in("prose only", "python") is None
    assert code_blocks.code_in("```python\n\n```", "python") is None  # an empty block is no code
    assert code_blocks.code_in(None, "python") is None


# --- the answer -> row logic --------------------------------------------------------------------------------------


def _row(i=0, lang="python", solution="```python\ndef f():\n    return 1\n```"):
    return {"raw_index": i, "lang": lang, "problem": f"Problem {i}", "solution": solution}


def _answer(response, finish="stop"):
    return {"raw_index": 0, "response": response, "finish_reason": finish, "prompt_tokens": 7, "completion_tokens": 3}


def test_rows_and_rejects_from_answers():
    assert skip_reason(_row(lang="go")) == "unsupported_language"
    assert skip_reason(_row(solution="def f(): pass")) == "no_solution_code"
    assert skip_reason(_row()) is None
    columns, reason = answer_columns(_row(), _answer("```python\nfrom solution import *\nassert f() == 1\n```"))
    assert reason is None
    assert columns == {
        "tests": "from solution import *\nassert f() == 1",
        "tests_response": "```python\nfrom solution import *\nassert f() == 1\n```",
        "tests_finish_reason": "stop",
        "tests_prompt_tokens": 7,
        "tests_completion_tokens": 3,
    }
    assert answer_columns(_row(), _answer("```python\nassert f(", "length"))[1] == "tests_truncated"
    assert answer_columns(_row(), _answer("I would test it."))[1] == "no_tests"
    assert answer_columns(_row(), _answer("```java\nclass T {}\n```"))[1] == "no_tests"  # not the row's language
    columns, reason = answer_columns(_row(lang="go"), None)
    assert reason == "unsupported_language" and set(columns.values()) == {None}
    # tests that check nothing would pass whatever the solution does
    assert answer_columns(_row(), _answer("```python\nfrom solution import *\nprint(f())\n```"))[1] == "no_checks"


CHECKED = {  # per language: tests that check something, and tests that only run the code
    "python": ("import unittest\nclass T(unittest.TestCase): ...", "f()"),
    "cpp": ("int main() { assert(f() == 1); }", "int main() { f(); }"),
    "java": ("if (f() != 1) throw new AssertionError();", "System.out.println(f());"),
    "typescript": ('if (f() !== 1) throw new Error("f");', "console.log(f());"),
    "shell": ('[ "$(f)" = 1 ] || exit 1', "source ./solution.sh\nf"),
    "csharp": ('if (F() != 1) throw new Exception("F");', "Console.WriteLine(F());"),
    "rust": ("fn main() { assert_eq!(f(), 1); }", 'fn main() { println!("{}", f()); }'),
    "php": ("<?php\nassert(f() === 1);", "<?php\necho f();"),
    "swift": ("precondition(f() == 1)", "print(f())"),
}


@pytest.mark.parametrize("lang", sorted(CHECKED))
def test_tests_without_a_check_are_rejected(lang):
    import re

    checked, unchecked = CHECKED[lang]
    assert set(CHECKED) == set(prompts.HARNESS)
    assert re.search(prompts.CHECKS[lang], checked) and not re.search(prompts.CHECKS[lang], unchecked)


# --- the stage against a loopback teacher --------------------------------------------------------------------------

SOLUTIONS = {
    "python": "```python\ndef f{i}():\n    return {i}\n```",
    "cpp": "```cpp\nint f{i}() {{ return {i}; }}\n```",
    "shell": "```bash\nf{i}() {{ echo {i}; }}\n```",
}
TESTS = {
    "python": "```python\nfrom solution import *\nassert f{i}() == {i}\n```",
    "cpp": "```cpp\n#include <cassert>\nint main() {{ assert(f{i}() == {i}); }}\n```",
    "shell": 'Here:\n```sh\nsource ./solution.sh\n[ "$(f{i})" = {i} ] || exit 1\n```',
}


def stage_rows():
    rows = [_row(i, "python", SOLUTIONS["python"].format(i=i)) for i in range(8)]
    rows += [_row(8, "python", "def f8(): return 8"), _row(9, "go", "```go\nfunc f9() {}\n```")]
    rows += [_row(10, "cpp", SOLUTIONS["cpp"].format(i=10)), _row(11, "shell", SOLUTIONS["shell"].format(i=11))]
    for row in rows:
        row["seed"] = f"seed {row['raw_index']}"
    return rows


def answer_tests(messages, seed):
    """Tests in the row's language; row 6 cut at max_tokens, row 7 prose only."""
    i = seed - 976
    if i == 6:
        return "```python\nfrom solution import *\nassert f6() ==", "length"
    if i == 7:
        return "These tests would check f7."
    lang = {10: "cpp", 11: "shell"}.get(i, "python")
    return TESTS[lang].format(i=i)


def stage_config(tmp_path, server, *extra, out="out"):
    return parse_config(
        [
            "--teacher_base_url",
            server.base_url,
            "--output_dir",
            str(tmp_path / out),
            "--concurrency",
            "4",
            *extra,
        ]
    )


def _kept(run_dir):
    return sorted(run_dir.load().to_list(), key=lambda row: row["raw_index"])


def test_stage_keeps_tests_and_rejects_with_reasons(tmp_path, api_env):
    rows = stage_rows()
    with TeacherServer(answer=answer_tests) as server:
        config = stage_config(tmp_path, server)
        upstream = make_upstream(tmp_path / "out", rows)
        run_dir = run_tests_stage(config, upstream)
    # one request per askable row, none for the rows without solution code or a harness
    assert dict(server.attempts) == {i: 1 for i in (0, 1, 2, 3, 4, 5, 6, 7, 10, 11)}
    body = next(b for b in server.bodies if b["seed"] == 976)
    assert body["messages"] == prompts.tests_messages("Problem 0", rows[0]["solution"], "python")
    assert body["max_tokens"] == 1500 and body["temperature"] == 0.0 and body["model"] == "gpt-3.5-turbo-1106"
    assert "language" not in body

    kept = _kept(run_dir)
    assert [row["raw_index"] for row in kept] == [0, 1, 2, 3, 4, 5, 10, 11]
    assert kept[0]["tests"] == "from solution import *\nassert f0() == 0"
    assert kept[0]["seed"] == "seed 0" and kept[0]["solution"] == rows[0]["solution"]  # input columns kept
    assert kept[6]["tests"] == "#include <cassert>\nint main() { assert(f10() == 10); }"
    assert kept[7]["tests"] == 'source ./solution.sh\n[ "$(f11)" = 11 ] || exit 1'
    assert {row["tests_finish_reason"] for row in kept} == {"stop"}
    assert all(row["tests_prompt_tokens"] > 0 and row["tests_completion_tokens"] > 0 for row in kept)

    rejects = {row["raw_index"]: row for row in load_rejects(run_dir).to_list()}
    assert {i: row["reason"] for i, row in rejects.items()} == {
        6: "tests_truncated",
        7: "no_tests",
        8: "no_solution_code",
        9: "unsupported_language",
    }
    assert rejects[6]["tests_finish_reason"] == "length" and rejects[7]["tests_response"].startswith("These tests")
    assert rejects[8]["tests_response"] is None and rejects[9]["tests"] is None

    stats = run_dir.stats()
    assert (stats["rows_in"], stats["kept"]) == (12, 8)
    assert stats["by_language"] == {
        "cpp": {"rows_in": 1, "kept": 1, "dropped": {}},
        "go": {"rows_in": 1, "kept": 0, "dropped": {"unsupported_language": 1}},
        "python": {
            "rows_in": 9,
            "kept": 6,
            "dropped": {"no_solution_code": 1, "no_tests": 1, "tests_truncated": 1},
        },
        "shell": {"rows_in": 1, "kept": 1, "dropped": {}},
    }
    assert stats["usage"]["rows"] == 10 and stats["usage"]["finish_reasons"] == {"stop": 9, "length": 1}
    assert stats["teacher"] == "gpt-3.5-turbo-1106"
    assert (run_dir.path / "tests.jsonl").exists()

    # rerun from the journal alone: identical rows, nothing asked again
    run_dir.stats_path.unlink()
    with TeacherServer(answer=answer_tests) as again:
        config = stage_config(tmp_path, again)
        assert run_tests_stage(config, upstream).path == run_dir.path
    assert not again.bodies
    assert _kept(run_dir) == kept


def test_fingerprint_follows_the_prompt_and_decoding_not_the_endpoint(tmp_path, api_env, monkeypatch):
    with TeacherServer() as a, TeacherServer() as b:
        base = tests_stage.Tests().fingerprint_inputs(stage_config(tmp_path, a))
        assert tests_stage.Tests().fingerprint_inputs(stage_config(tmp_path, b, "--concurrency", "9")) == base
        for change in (["--temperature", "0.5"], ["--seed", "1"], ["--tests_max_tokens", "99"], ["--top_p", "0.9"]):
            assert tests_stage.Tests().fingerprint_inputs(stage_config(tmp_path, a, *change)) != base, change
        monkeypatch.setitem(prompts.HARNESS, "rust", "another harness")
        assert tests_stage.Tests().fingerprint_inputs(stage_config(tmp_path, a)) != base


def _journal_lines(path: Path) -> int:
    return sum(1 for line in open(path) if line.endswith("\n")) if path.exists() else 0


def test_kill_9_then_resume_gives_identical_rows(tmp_path, api_env):
    n, kill_after = 40, 5
    rows = [_row(i, "python", SOLUTIONS["python"].format(i=i)) for i in range(n)]
    with TeacherServer(answer=answer_tests) as clean:
        reference = _kept(
            run_tests_stage(stage_config(tmp_path, clean, out="ref"), make_upstream(tmp_path / "ref", rows))
        )
    with TeacherServer(answer=answer_tests, latency=(0.02, 0.15)) as server:
        config = stage_config(tmp_path, server)
        upstream = make_upstream(tmp_path / "out", rows)
        run_dir, _ = stage_run_dir(config, upstream)
        argv = ["--teacher_base_url", server.base_url, "--output_dir", str(tmp_path / "out"), "--concurrency", "4"]
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.helpers.tests_stage", str(upstream.path), *argv],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        journal = run_dir.path / "tests.jsonl"
        deadline = time.monotonic() + 60
        while _journal_lines(journal) < kill_after and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        stored = {json.loads(line)["raw_index"] for line in journal.read_text().splitlines() if line.endswith("}")}
        assert kill_after <= len(stored) < n, "killed mid-run"
        before = dict(server.attempts)

        got = _kept(run_tests_stage(config, upstream))

    assert got == reference
    for i in stored:  # no stored answer was asked for again
        assert server.attempts[i] == before[i] == 1
    assert set(server.attempts) == set(range(n))
    lines = journal.read_text().splitlines()
    assert sorted(json.loads(line)["raw_index"] for line in lines) == list(range(n)), "no duplicates"


def test_dry_run_of_the_stage_sends_nothing(tmp_path, api_env, capsys):
    with TeacherServer(answer=answer_tests) as server:
        config = stage_config(tmp_path, server, "--dry_run", "true")
        upstream = make_upstream(tmp_path / "out", stage_rows())
        run_dir, _ = stage_run_dir(config, upstream)
        with pytest.raises(StopRequested):
            tests_stage.Tests().run(config, run_dir, upstream)
    assert not server.bodies
    printed = capsys.readouterr().out
    assert (
        "Dry run of the tests stage, gpt-3.5-turbo-1106 (openai): 10 requests to send (0 already answered)" in printed
    )
    assert "400/row from expected_tests_completion_tokens, max_tokens 1500" in printed
    assert "cost              ~$" in printed and "Nothing was sent." in printed
    assert not run_dir.path.exists()


def test_preflight_dry_run_estimates_the_tests_stage_before_and_after_parse(tmp_path, api_env, monkeypatch, capsys):
    from dataset_builder import pipeline, preflight
    from tests.conftest import teacher_argv

    # the integrator puts the tests stage into the oss_instruct_verified chain; here a temporary one
    monkeypatch.setitem(pipeline.STAGES, "tests", tests_stage.Tests)
    monkeypatch.setitem(pipeline.CHAINS, "oss_instruct_verified", ("seeds", "generate", "parse", "tests"))
    with TeacherServer() as server:
        config = parse_config(teacher_argv(tmp_path, server, "--pipeline", "oss_instruct_verified"))
        preflight.dry_run(config, "tests")
        printed = capsys.readouterr().out
        assert not server.bodies and not (tmp_path / "out").exists()
        assert "Dry run of gpt-3.5-turbo-1106 (openai): 12 requests to send" in printed
        assert "Dry run of the tests stage, gpt-3.5-turbo-1106 (openai): ~11 requests to send, assuming 94%" in printed

        pipeline.run_stage("parse", config)
        sent = len(server.bodies)
        preflight.dry_run(config, "tests")
        printed = capsys.readouterr().out
        assert len(server.bodies) == sent
    assert (
        "Dry run of the tests stage, gpt-3.5-turbo-1106 (openai): 12 requests to send (0 already answered)" in printed
    )
    assert not (tmp_path / "out" / "tests").exists()


def _answer_batch_file(input_path: Path, output_path: Path, server) -> None:
    """What vLLM's run_batch does: each line's body to the server, its answer written as a results line."""
    results = []
    for text in input_path.read_text().splitlines():
        line = json.loads(text)
        http = urllib.request.Request(
            f"{server.base_url}/chat/completions",
            data=json.dumps(line["body"]).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(http) as answer:
            body = json.loads(answer.read())
        response = {"status_code": 200, "request_id": line["custom_id"], "body": body}
        results.append({"id": line["custom_id"], "custom_id": line["custom_id"], "response": response, "error": None})
    output_path.write_text("".join(json.dumps(r) + "\n" for r in results))


def test_batch_export_and_results_files(tmp_path, api_env, capsys):
    rows = stage_rows()
    with TeacherServer(answer=answer_tests) as live:
        expected = _kept(
            run_tests_stage(stage_config(tmp_path, live, out="live"), make_upstream(tmp_path / "live", rows))
        )
    nowhere = ["--teacher_base_url", "http://127.0.0.1:9/v1", "--output_dir", str(tmp_path / "out")]
    export = parse_config([*nowhere, "--teacher_backend", "openai_batch", "--batch_write_only", "true"])
    upstream = make_upstream(tmp_path / "out", rows)
    with pytest.raises(StopRequested):
        run_tests_stage(export, upstream)
    (folder,) = (tmp_path / "out").glob("tests/*/batch-export")
    lines = [json.loads(x) for x in (folder / "input-00000.jsonl").read_text().splitlines()]
    assert [line["custom_id"] for line in lines] == [f"tests-row-{i}" for i in (0, 1, 2, 3, 4, 5, 6, 7, 10, 11)]
    assert lines[0]["body"]["messages"] == prompts.tests_messages("Problem 0", rows[0]["solution"], "python")
    assert "language" not in lines[0]["body"] and lines[0]["body"]["seed"] == 976
    assert "Wrote 10 requests in 1 Batch input files" in capsys.readouterr().out

    with TeacherServer(answer=answer_tests) as server:
        _answer_batch_file(folder / "input-00000.jsonl", folder / "results-00000.jsonl", server)
    # a generate results file in the same glob is another stage's: skipped, not journaled as tests
    generate_line = {"custom_id": "row-0", "response": {"status_code": 200, "body": {"choices": [{}]}}, "error": None}
    (folder / "results-generate.jsonl").write_text(json.dumps(generate_line) + "\n")
    collect = parse_config(
        [*nowhere, "--teacher_backend", "openai_batch", "--batch_results_files", str(folder / "results-*.jsonl")]
    )
    run_dir = run_tests_stage(collect, upstream)
    got = _kept(run_dir)
    assert [row["raw_index"] for row in got] == [row["raw_index"] for row in expected]
    assert [row["tests"] for row in got] == [row["tests"] for row in expected]


# --- the local toy teacher ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    from tests.helpers.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny"))


def test_guided_tests_teacher_starts_the_answer_inside_a_fence(tmp_path, tiny_model_dir):
    from transformers import AutoTokenizer

    from dataset_builder.runs import RunDir
    from dataset_builder.teacher import get_backend
    from dataset_builder.teacher.base import TeacherSettings
    from tests.helpers.teacher_run import run_backend

    messages = prompts.tests_messages("Add.", "```rust\nfn add(a: i32, b: i32) -> i32 { a + b }\n```", "rust")
    request = Request(0, messages, 976, 64, language="rust")
    assert request.body("m", 0.0, None) == Request(0, messages, 976, 64).body("m", 0.0, None)  # never sent
    with TeacherServer() as server:
        settings = TeacherSettings(str(tiny_model_dir), server.base_url, 0.0, None, 2, 60, 0)
        teacher = get_backend("guided_local_tests")(settings, RunDir(tmp_path, "tests", "fp"))
        rows, accounting, _ = run_backend(teacher, [request], tmp_path / "tests.jsonl")
    (body,) = server.bodies
    rendered = AutoTokenizer.from_pretrained(tiny_model_dir).apply_chat_template(
        messages, tokenize=False, add_generation_prompt=True
    )
    assert body["prompt"] == rendered + "```rust\n"
    assert body["stop"] == ["```"] and body["max_tokens"] == 64 and body["seed"] == 976
    row = rows[0]
    # the scripted server's text has a fence: the code is what comes before it, and the block is closed
    assert row["finish_reason"] == "stop" and row["response"].startswith("```rust\n[Problem Description]")
    assert row["response"].endswith("\n```") and code_blocks.code_in(row["response"], "rust")
    assert accounting.rows == 1 and row["prompt_tokens"] == len(body["prompt"]) // 4


# --- the runbooks' cost estimate ----------------------------------------------------------------------------------


def _recipe(tmp_path, **overrides) -> str:
    import yaml

    recipe = yaml.safe_load((ROOT / "recipes/oss_instruct/magicoder.yaml").read_text()) | overrides
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return str(path)


def test_costs_count_the_test_requests_of_verified_pipelines(tmp_path, monkeypatch):
    from dataset_builder.config import PAPER_LANGUAGES
    from dataset_builder.teacher.base import estimate_tokens
    from oss_runbooks import costs, estimate

    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    plain = costs.teacher()
    assert plain["tests"] == {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0}

    verified = costs.teacher(_recipe(tmp_path, pipeline="oss_instruct_verified"))
    # 94% of the 80K seeds parse; each prompt: the tests prompt around 550 tokens of problem and solution
    requests = {lang: round(n * 0.94) for lang, n in PAPER_LANGUAGES.items()}
    prompt = sum(n * (estimate_tokens(prompts.tests_messages("", "", lang)) + 550) for lang, n in requests.items())
    assert verified["tests"] == {"requests": 75_200, "prompt_tokens": prompt, "completion_tokens": 75_200 * 400}
    assert verified["requests"] == plain["requests"] == 80_000
    assert verified["prompt_tokens"] == plain["prompt_tokens"] + prompt
    assert verified["completion_tokens"] == plain["completion_tokens"] + 75_200 * 400
    live = (verified["prompt_tokens"] * 1.0 + verified["completion_tokens"] * 2.0) / 1e6  # gpt-3.5-turbo-1106
    assert verified["dollars"]["live"] == pytest.approx(live)
    assert "80,000 requests + 75,200 test-writing requests to gpt-3.5-turbo-1106" in estimate.teacher_line(verified)

    verify = costs.teacher(_recipe(tmp_path, pipeline="verify", verify_dataset="x.jsonl", verify_max_rows=8_000))
    assert verify["requests"] == 0 and verify["tests"]["requests"] == 8_000  # one per row, the recipe's mix
    assert verify["completion_tokens"] == 8_000 * 400
    with pytest.raises(ValueError, match="set verify_max_rows"):
        costs.teacher(_recipe(tmp_path, pipeline="verify", verify_dataset="x.jsonl"))
