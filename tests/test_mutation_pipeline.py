"""`mutants_per_row` and `min_mutation_score` through the verified build's CLI against a loopback teacher whose tests
are strong for some rows and `assert 0 == 0` for others: with K=0 the run folders and outputs are those of a build
without the fields; with K>0 the trivial tests score 0 and `min_mutation_score` moves their rows to rejects/; a
kill -9 during the mutation run loses nothing and runs no mutant twice."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from datasets import load_dataset

from dataset_builder import prompts
from dataset_builder.cli import main
from dataset_builder.runs import RunDir
from tests.helpers.runs import load_rejects
from tests.helpers.teacher_server import TeacherServer
from tests.test_verified_pipeline import ASKED, WRONG, Teacher, kill_once_journaled, verified_argv

pytestmark = [
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap missing: apt-get install -y bubblewrap"),
    pytest.mark.slow,  # two or three builds of 8 rows each
]
TRIVIAL = {2, 3}  # rows whose tests never call the solution


class TrivialFor(Teacher):
    def __call__(self, messages, seed):
        answer = super().__call__(messages, seed)
        if messages[0]["content"] == prompts.TESTS_SYSTEM:
            number = int(ASKED.search(messages[-1]["content"]).group(2))
            if number - 976 in TRIVIAL:
                return "```python\nfrom solution import *\nassert 0 == 0\n```"
        return answer


def execute_run(out) -> RunDir:
    (stats,) = (out / "execute").glob("*/stats.json")
    return RunDir.at(stats.parent)


def test_k_0_changes_no_run_folder_and_no_output(tmp_path, api_env):
    with TeacherServer(answer=Teacher()) as s:
        assert main(["build", *verified_argv(tmp_path, s)]) == 0
        before = {p.relative_to(tmp_path): p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()}
        folders = sorted(p.relative_to(tmp_path) for p in (tmp_path / "out").glob("*/*"))
        assert main(["build", *verified_argv(tmp_path, s, "--mutants_per_row", "0")]) == 0
    assert sorted(p.relative_to(tmp_path) for p in (tmp_path / "out").glob("*/*")) == folders  # no new run folder
    execute = execute_run(tmp_path / "out")
    assert "mutation" not in execute.stats() and not (execute.path / "mutants.jsonl").exists()
    assert not any(name.startswith("tests_m") for name in execute.load().column_names)
    (hub,) = (tmp_path / "out" / "publish").glob("*/hub")
    assert (
        "## Verification" in (hub / "README.md").read_text() and "Test strength" not in (hub / "README.md").read_text()
    )
    changed = [
        p for p, data in before.items() if (tmp_path / p).read_bytes() != data and "execute" in str(p)
    ]  # the execute stage was complete: a no-op
    assert changed == []


def test_trivial_tests_score_0_and_min_mutation_score_rejects_them(tmp_path, api_env, caplog):
    argv = ("--mutants_per_row", "3", "--min_mutation_score", "0.5")
    with TeacherServer(answer=TrivialFor()) as server:
        assert main(["build", *verified_argv(tmp_path, server, *argv)]) == 0
    execute = execute_run(tmp_path / "out")
    kept = execute.load()
    scores = dict(zip(kept["raw_index"], kept["tests_mutation_score"], strict=True))
    passing = [i for i in range(8) if i not in WRONG]
    assert scores == {i: 1.0 for i in passing if i not in TRIVIAL}  # `return N`: N+1, N-1 and None, all killed
    assert set(kept["tests_mutants"]) == {3} and set(kept["tests_killed"]) == {3}
    rejects = load_rejects(execute)
    reasons = dict(zip(rejects["raw_index"], rejects["reason"], strict=True))
    assert reasons == {**dict.fromkeys(WRONG, "fail"), **dict.fromkeys(TRIVIAL, "mutation_score")}
    trivial = {
        i: s for i, s in zip(rejects["raw_index"], rejects["tests_mutation_score"], strict=True) if i in TRIVIAL
    }
    assert trivial == dict.fromkeys(TRIVIAL, 0.0)
    assert all(
        s is None for i, s in zip(rejects["raw_index"], rejects["tests_mutation_score"], strict=True) if i in WRONG
    )
    stats = execute.stats()
    assert stats["dropped"] == {"fail": 2, "mutation_score": 2}
    mutation = stats["mutation"]
    assert mutation["zero_score_rows"] == 2 and sorted(mutation["zero_score_examples"]) == sorted(TRIVIAL)
    assert mutation["by_language"]["python"]["bins"] == {"0": 2, "(0, 0.5)": 0, "[0.5, 1)": 0, "1": 4}
    assert mutation["by_language"]["python"]["removed"] == 2
    assert "kill no mutant" in caplog.text
    lines = (execute.path / "mutants.jsonl").read_text().splitlines()
    assert len(lines) == 18 and len({json.loads(line)["mutant"] for line in lines}) == 18  # 6 rows x 3, once each
    (hub,) = (tmp_path / "out" / "publish").glob("*/hub")
    ds = load_dataset(str(hub), split="train")
    assert sorted(ds["raw_index"]) == [i for i in passing if i not in TRIVIAL]
    card = (hub / "README.md").read_text()
    assert "### Test strength (mutation score)" in card
    assert "| python | 6 | 18 | 12 | 0.67 | 2 | 0 | 0 | 4 | 0 | 0 | 2 |" in card
    assert "`min_mutation_score: 0.5`: 2 rows" in card and "against these mutators only" in card
    assert "`constant` 8/12 (0 not valid), `default_return` 4/6 (0 not valid)" in card  # trivial tests kill none


def test_kill_9_during_the_mutation_run_then_rerun_runs_no_mutant_twice(tmp_path, api_env):
    """The build is killed once some mutants' runs are journaled; the rerun runs only the others, and the scores are
    those of an uninterrupted run."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with TeacherServer(answer=Teacher(sleep=0.3)) as server:
        argv = verified_argv(tmp_path, server, "--exec_workers", "1", "--mutants_per_row", "3")
        command = [sys.executable, "-m", "dataset_builder", "build", *argv]
        _, journal, before = kill_once_journaled(command, env, tmp_path, "mutants.jsonl")
        assert 2 <= len(before) < 18 and not (journal.parent / "stats.json").exists()
        rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    stored = len([line for line in before if line.endswith("}")])
    assert f"mutants of 6 passing rows: {stored} run before, {18 - stored} to run" in rerun.stderr
    after = journal.read_text().splitlines()
    assert after[: len(before)] == before and len(after) == 18  # appended, never rewritten or run twice
    assert len({json.loads(line)["mutant"] for line in after}) == 18
    kept = execute_run(tmp_path / "out").load()
    assert set(kept["tests_mutation_score"]) == {1.0} and set(kept["tests_mutants"]) == {3}
