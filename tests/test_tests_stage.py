"""The tests stage: the answer -> row logic, and the stage against a loopback teacher (its prompt and code blocks:
test_tests_prompt.py)."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dataset_builder import prompts
from dataset_builder.cli import parse_config
from dataset_builder.stages import tests as tests_stage
from dataset_builder.stages.generate import StopRequested
from dataset_builder.stages.tests import answer_columns, skip_reason
from tests.helpers.runs import load_rejects
from tests.helpers.teacher_server import TeacherServer
from tests.helpers.tests_stage import make_upstream, run_tests_stage, stage_run_dir

ROOT = Path(__file__).resolve().parents[1]


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
    n, kill_after = 80, 5  # 80 answers at ~0.1 s each, 4 at a time: ~2 s of run to kill 5 answers in, even under load
    rows = [_row(i, "python", SOLUTIONS["python"].format(i=i)) for i in range(n)]
    with TeacherServer(answer=answer_tests) as clean:
        reference = _kept(
            run_tests_stage(stage_config(tmp_path, clean, out="ref"), make_upstream(tmp_path / "ref", rows))
        )
    with TeacherServer(answer=answer_tests, latency=(0.05, 0.15)) as server:
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
