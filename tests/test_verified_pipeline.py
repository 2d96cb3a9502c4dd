"""The verified pipelines through the CLI against a loopback teacher that answers the OSS-Instruct prompt and the tests
prompt: some of its solutions are wrong, and exactly the right rows are published; the wrong ones are in the execute
stage's rejects/ with `fail`. Also: `verify` on an existing dataset, and kill -9 during execute."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
from datasets import load_dataset

from dataset_builder import prompts
from dataset_builder.cli import main
from dataset_builder.execution.sandbox import leftovers
from dataset_builder.runs import RunDir
from tests.conftest import OFFLINE, teacher_argv
from tests.helpers.runs import load_rejects
from tests.helpers.teacher_server import TeacherServer, answer_for

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap missing: apt-get install -y bubblewrap")

SEED = 976
WRONG = {1, 4}  # rows whose solution returns the wrong number
ASKED = re.compile(r"function `(\w+)` that returns the number (\d+)")  # the problem of tests.helpers' teacher


class Teacher:
    """Answers the paper's prompt with a one-line function (wrong for the rows in `wrong`) and the tests prompt with
    asserts on it; `sleep` seconds in every test, to make execution slow enough to interrupt."""

    def __init__(self, wrong=WRONG, sleep=0.0):
        self.wrong = wrong
        self.sleep = sleep

    def __call__(self, messages, seed):
        if messages[0]["content"] == prompts.TESTS_SYSTEM:
            name, number = ASKED.search(messages[-1]["content"]).groups()
            pause = f"import time\ntime.sleep({self.sleep})\n" if self.sleep else ""
            return f"```python\nfrom solution import *\n{pause}\nassert {name}() == {number}\n```"
        answer = answer_for(messages, seed)
        if seed - SEED in self.wrong:
            answer = answer.replace(f"return {seed}\n", f"return {seed + 1}\n")
        return answer


def asserting_teacher(messages, seed):
    """Answers the tests prompt (all a `verify` run asks) with an assert on the function the problem names."""
    name, number = ASKED.search(messages[-1]["content"]).groups()
    return f"```python\nfrom solution import *\nassert {name}() == {number}\n```"


def kill_once_journaled(command, env, tmp_path, name, stderr=subprocess.DEVNULL):
    """Start a build, SIGKILL it once the execute stage's journal `name` holds two lines; (the killed child, the
    journal, its lines then)."""
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr, text=True)
    journal = None
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and child.poll() is None:
        found = list((tmp_path / "out" / "execute").glob(f"*/{name}"))
        if found and len(found[0].read_text().splitlines()) >= 2:
            journal = found[0]
            break
        time.sleep(0.05)
    assert journal is not None, f"execute never wrote two lines of {name} before the build ended"
    child.send_signal(signal.SIGKILL)
    child.wait()
    return child, journal, journal.read_text().splitlines()


def verified_argv(tmp_path, server, *extra, n=8):
    return teacher_argv(tmp_path, server, "--pipeline", "oss_instruct_verified", *OFFLINE, *extra, n=n)


def test_verified_build_publishes_exactly_the_passing_rows(tmp_path, api_env, capsys):
    with TeacherServer(answer=Teacher()) as server:
        assert main(["build", *verified_argv(tmp_path, server)]) == 0
        asked = sum(server.answered.values())
    assert asked == 16  # one answer and one tests request per row
    out = capsys.readouterr().out
    for stage in ("tests", "execute", "publish"):
        assert any(line.startswith(stage) for line in out.splitlines()), stage
    # seeds, answers, parsed, with tests, executed, passed, published
    assert re.search(r"^python +8 +8 +8 +8 +8 +6 +6$", out.split("verification funnel")[1], re.M)
    (hub,) = (tmp_path / "out" / "publish").glob("*/hub")
    ds = load_dataset(str(hub), split="train")
    assert sorted(ds["raw_index"]) == [i for i in range(8) if i not in WRONG]
    assert set(ds["exec_status"]) == {"pass"} and all(t.startswith("from solution import *") for t in ds["tests"])
    assert all(version.startswith("python 3") for version in ds["exec_toolchain"])
    (execute,) = (tmp_path / "out" / "execute").glob("*/stats.json")
    rejects = load_rejects(RunDir.at(execute.parent))
    assert sorted(rejects["raw_index"]) == sorted(WRONG) and set(rejects["reason"]) == {"fail"}
    assert all("AssertionError" in output for output in rejects["exec_output"])
    stats = json.loads(execute.read_text())
    assert stats["by_language"] == {"python": {"pass": 6, "fail": 2}} and stats["sandbox"].startswith("bubblewrap")
    card = (hub / "README.md").read_text()
    assert "## Verification" in card and prompts.TESTS_SYSTEM in card
    assert "Limits to run a row's tests:" in card and "`memory_bytes` 2 GiB" in card and "`wall_seconds` 10.0" in card
    held = stats["row_limits"]  # a cgroup per row as root here, rlimits only as a normal user
    assert held.startswith(("cgroup", "rlimits only")) and f"- Limits held by {held}" in card
    assert (hub / "figures" / "verification.png").is_file()


@pytest.mark.parametrize("sandbox", ["bwrap", "none"])
def test_keep_all_publishes_every_row_with_its_status(tmp_path, api_env, caplog, sandbox):
    with TeacherServer(answer=Teacher()) as server:
        argv = verified_argv(tmp_path, server, "--verify_keep", "all", "--sandbox", sandbox)
        assert main(["build", *argv]) == 0
    (hub,) = (tmp_path / "out" / "publish").glob("*/hub")
    ds = load_dataset(str(hub), split="train")
    statuses = dict(zip(ds["raw_index"], ds["exec_status"], strict=True))
    assert statuses == {i: "fail" if i in WRONG else "pass" for i in range(8)}
    card = (hub / "README.md").read_text()
    unisolated = "WITHOUT isolation" in caplog.text and "**Warning: no sandbox.**" in card
    assert unisolated == (sandbox == "none")  # the explicit choice is warned about in the log and the card


def test_verify_an_existing_dataset_keeps_its_columns(tmp_path, api_env):
    rows = [
        {"instruction": f"Write a function `g{i}` that returns the number {i}.", "response": body, "source": "x"}
        for i, body in enumerate(
            [f"```python\ndef g0():\n    return {0}\n```", "```python\ndef g1():\n    return 5\n```", "No code here."]
        )
    ]
    data = tmp_path / "evol.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))

    with TeacherServer(answer=asserting_teacher) as server:
        argv = [
            "--verify_dataset",
            str(data),
            "--teacher_base_url",
            server.base_url,
            "--teacher_model",
            "gpt-3.5-turbo-1106",
            "--output_dir",
            str(tmp_path / "out"),
            *OFFLINE,
        ]
        assert main(["verify", *argv]) == 0
        assert sum(server.answered.values()) == 2  # the row without code is not asked about
    (hub,) = (tmp_path / "out" / "publish").glob("*/hub")
    ds = load_dataset(str(hub), split="train")
    assert ds["instruction"] == [rows[0]["instruction"]] and ds["source"] == ["x"] and ds["lang"] == ["python"]
    assert {"exec_status", "exec_seconds", "exec_output", "exec_toolchain", "tests"} <= set(ds.column_names)
    card = (hub / "README.md").read_text()
    assert "## Verification" in card and str(data.name) in card


def test_a_verified_dataset_verified_again_keeps_its_own_verdicts_as_source_columns(tmp_path, api_env):
    """Verifying a verified build (its `tests`, `exec_*` columns): the source's columns that the verify stages add
    are kept as `source_<name>`, the teacher is asked as for any dataset, and the new verdicts sit beside the old."""
    rows = [
        {"lang": "python", "problem": f"Write a function `g{i}` that returns the number {i}.",
         "solution": f"```python\ndef g{i}():\n    return {i + (i == 1)}\n```", "tests": "old tests",
         "exec_status": "pass", "exec_detail": "", "tests_mutation_score": 1.0}
        for i in range(2)
    ]  # fmt: skip
    data = tmp_path / "verified.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))

    with TeacherServer(answer=asserting_teacher) as server:
        argv = ["--verify_dataset", str(data), "--teacher_base_url", server.base_url, "--teacher_model",
                "gpt-3.5-turbo-1106", "--output_dir", str(tmp_path / "out"), "--verify_keep", "all",
                *OFFLINE]  # fmt: skip
        assert main(["verify", *argv]) == 0
        assert sum(server.answered.values()) == 2
    (hub,) = (tmp_path / "out" / "publish").glob("*/hub")
    ds = sorted(load_dataset(str(hub), split="train"), key=lambda row: row["problem"])
    assert [r["source_exec_status"] for r in ds] == ["pass", "pass"]
    assert [r["exec_status"] for r in ds] == ["pass", "fail"]
    assert [r["source_tests"] for r in ds] == ["old tests"] * 2 and ds[0]["tests"].startswith("from solution import *")
    assert [r["source_tests_mutation_score"] for r in ds] == [1.0, 1.0]
    (source_run,) = (tmp_path / "out" / "source").glob("*/")
    renamed = json.loads((source_run / "stats.json").read_text())["source"]["renamed"]
    names = ("tests", "exec_status", "exec_detail", "tests_mutation_score")
    assert renamed == {name: f"source_{name}" for name in names}


def test_kill_9_during_execute_then_rerun_runs_no_stored_row_again(tmp_path, api_env):
    """The build is killed once some results are journaled; the rerun runs only the others, and the published rows
    are those of an uninterrupted run."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with TeacherServer(answer=Teacher(sleep=0.4)) as server:
        argv = verified_argv(tmp_path, server, "--exec_workers", "1")
        command = [sys.executable, "-m", "dataset_builder", "build", *argv]
        child, journal, before = kill_once_journaled(command, env, tmp_path, "results.jsonl", stderr=subprocess.PIPE)
        assert 2 <= len(before) < 8 and not (journal.parent / "stats.json").exists()
        rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    leased = _leased_uids(child.stderr.read() + rerun.stderr)  # only our two builds' uids: others may run beside us
    stored = len([line for line in before if line.endswith("}")])
    assert f"execute: {stored} rows run before, {8 - stored} to run" in rerun.stderr
    after = journal.read_text().splitlines()
    assert after[: len(before)] == before and len(after) == 8  # appended, never rewritten or run twice
    assert len({json.loads(line)["raw_index"] for line in after}) == 8
    (hub,) = (tmp_path / "out" / "publish").glob("*/hub")
    assert sorted(load_dataset(str(hub), split="train")["raw_index"]) == [i for i in range(8) if i not in WRONG]
    assert bool(leased) == (os.geteuid() == 0)  # as root each build's sandboxes leased uids (and said so)
    assert [pid for uids in leased for uid in uids for pid in leftovers(uid)] == []


def _leased_uids(stderr: str) -> list[range]:
    """The uid blocks the builds' sandboxes leased, from the line each logs (`processes.UidLease`)."""
    found = re.findall(r"sandbox: worker slots run as uids (\d+)-(\d+)", stderr)
    return [range(int(first), int(last) + 1) for first, last in found]


def test_without_bwrap_the_build_stops_before_the_teacher_and_names_the_fix(tmp_path, api_env, monkeypatch, capsys):
    import dataset_builder.execution.sandbox as sandbox

    real_which = shutil.which

    def which(name, **kwargs):
        return None if name == "bwrap" else real_which(name, **kwargs)

    monkeypatch.setattr(sandbox.shutil, "which", which)
    with TeacherServer(answer=Teacher()) as server:
        assert main(["build", *verified_argv(tmp_path, server)]) == 2
        assert sum(server.attempts.values()) == 0  # nothing was spent
    err = capsys.readouterr().err
    assert "apt-get install -y bubblewrap" in err and "sandbox: none" in err
    assert not (tmp_path / "out" / "generate").exists()


@pytest.mark.skipif(shutil.which("swiftc") is not None, reason="swiftc is installed here: swift rows run")
def test_rows_without_a_toolchain_are_counted_not_dropped(tmp_path, api_env):
    rows = [
        {"lang": "python", "problem": "Write a function `g0` that returns the number 0.", "solution": "```python\n"
         "def g0():\n    return 0\n```"},
        {"lang": "swift", "problem": "Write a function `g1` that returns the number 1.", "solution": "```swift\n"
         "func g1() -> Int { return 1 }\n```"},
    ]  # fmt: skip
    data = tmp_path / "oss.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))

    def teacher(messages, seed):
        if "```swift" not in messages[-1]["content"]:
            return asserting_teacher(messages, seed)
        name, number = ASKED.search(messages[-1]["content"]).groups()
        return f"```swift\nprecondition({name}() == {number})\n```"

    with TeacherServer(answer=teacher) as server:
        argv = ["--verify_dataset", str(data), "--teacher_base_url", server.base_url, "--teacher_model",
                "gpt-3.5-turbo-1106", "--output_dir", str(tmp_path / "out"), "--verify_keep", "all",
                *OFFLINE]  # fmt: skip
        assert main(["verify", *argv]) == 0
    (hub,) = (tmp_path / "out" / "publish").glob("*/hub")
    ds = load_dataset(str(hub), split="train")
    assert dict(zip(ds["lang"], ds["exec_status"], strict=True)) == {"python": "pass", "swift": "no_toolchain"}
    (stats,) = (tmp_path / "out" / "execute").glob("*/stats.json")
    stats = json.loads(stats.read_text())
    assert stats["by_language"]["swift"] == {"no_toolchain": 1} and stats["pass_rate"] == 1.0
    assert "swiftc" in (hub / "README.md").read_text()
