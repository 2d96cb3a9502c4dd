import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dataset_builder.cli import main, parse_config
from dataset_builder.pipeline import run_stage
from dataset_builder.teacher.base import TeacherError
from tests.conftest import OFFLINE, teacher_argv, write_corpus
from tests.helpers.runs import load_rejects
from tests.helpers.teacher_server import TeacherServer


def config_for(tmp_path, server, *extra, out="out", n=12):
    argv = teacher_argv(tmp_path, server, *extra, out=out, n=n)
    return argv, parse_config(argv)


def rows(run_dir):
    ds = run_dir.load()
    return sorted(ds.select_columns(["raw_index", "seed", "problem", "solution"]).to_list(), key=str)


def test_build_happy_path_matches_paper_request(tmp_path, api_env, teacher):
    _, config = config_for(tmp_path, teacher)
    run = run_stage("parse", config)
    ds = run.load()
    assert len(ds) == 12
    assert ds.column_names[:7] == ["lang", "raw_index", "index", "seed", "openai_fingerprint", "problem", "solution"]
    assert ds["index"] == list(range(12))
    assert set(ds["openai_fingerprint"]) == {"fp_fake"}
    assert all(p.startswith("Write a function") for p in ds["problem"])
    # the API seed is 976 + raw_index, one request per row
    assert dict(teacher.attempts) == {i: 1 for i in range(12)}
    generated = run_stage("generate", config).load()
    assert len(load_rejects(run_stage("generate", config))) == 0
    assert all(t > 0 for t in generated["prompt_tokens"])
    assert set(generated["finish_reason"]) == {"stop"}
    assert all(lat is not None and lat >= 0 for lat in generated["latency_s"])


def test_every_fault_is_retried_and_every_row_arrives(tmp_path, api_env):
    faults = {
        0: ["429", "429"],
        1: ["500"],
        2: ["503", "500", "429"],
        3: ["slow"],
        4: ["reset"],
        5: ["malformed"],
        6: ["empty"],
        7: ["reset", "malformed", "503"],
    }
    with TeacherServer(slow_seconds=3.0) as clean:
        _, reference = config_for(tmp_path, clean, out="reference")
        expected = rows(run_stage("parse", reference))
    with TeacherServer(faults=faults, slow_seconds=3.0) as server:
        _, config = config_for(tmp_path, server, "--request_timeout", "1.0", "--max_retries", "4")
        started = time.monotonic()
        got = rows(run_stage("parse", config))
        elapsed = time.monotonic() - started
    assert got == expected
    # one request per scripted fault plus the one that succeeds: retries are bounded and nothing is re-asked
    assert dict(server.attempts) == {i: len(faults.get(i, [])) + 1 for i in range(12)}
    assert dict(server.answered) == {i: 1 for i in range(12)}
    generated = run_stage("generate", config).load()
    attempts = dict(zip(generated["raw_index"], generated["attempts"], strict=True))
    assert attempts == {i: len(faults.get(i, [])) + 1 for i in range(12)}
    assert elapsed < 30


def test_retries_give_up_after_max_retries(tmp_path, api_env):
    with TeacherServer(faults={3: ["503"] * 10}) as server:
        _, config = config_for(tmp_path, server, "--max_retries", "2")
        with pytest.raises(TeacherError, match="1 requests failed after 2 retries"):
            run_stage("generate", config)
        assert server.attempts[3] == 3
        # every other row is stored; a rerun asks only for row 3
        journal = Path(run_stage("seeds", config).path).parents[1] / "generate"
        (stored,) = journal.glob("*/responses.jsonl")
        assert sorted(json.loads(line)["raw_index"] for line in stored.read_text().splitlines()) == [
            i for i in range(12) if i != 3
        ]
        server.faults = {}
        run_stage("generate", config)
        assert server.attempts[3] == 4
        assert all(server.attempts[i] == 1 for i in range(12) if i != 3)


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("401", "rejected the API key .*OPENAI_API_KEY"),
        ("400", "rejected the request .*max_tokens"),
        ("404", "has no model 'gpt-3.5-turbo-1106'.*ends in /v1"),
    ],
)
def test_unfixable_errors_stop_the_run_at_once(tmp_path, api_env, fault, message):
    with TeacherServer(faults={5: [fault] * 10}) as server:
        _, config = config_for(tmp_path, server, "--max_retries", "5")
        with pytest.raises(TeacherError, match=message):
            run_stage("generate", config)
        assert server.attempts[5] == 1, "no retry of a 4xx"
        assert sum(server.attempts.values()) <= 12


def test_cli_reports_fatal_errors_without_traceback(tmp_path, api_env, capsys):
    with TeacherServer(faults={0: ["401"]}) as server:
        argv, _ = config_for(tmp_path, server)
        assert main(["generate", *argv]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "OPENAI_API_KEY" in err
    assert api_env not in err


def test_finished_stages_are_not_run_again(tmp_path, api_env, teacher):
    _, config = config_for(tmp_path, teacher)
    first = run_stage("parse", config)
    mtime = first.stats_path.stat().st_mtime_ns
    again = run_stage("parse", config)
    assert again.path == first.path
    assert again.stats_path.stat().st_mtime_ns == mtime
    assert sum(teacher.attempts.values()) == 12


def test_changed_recipe_gets_new_run_folder(tmp_path, api_env, teacher):
    _, a = config_for(tmp_path, teacher)
    _, b = config_for(tmp_path, teacher, "--max_tokens", "100")
    _, c = config_for(tmp_path, teacher, "--concurrency", "2", "--request_timeout", "30")
    seeds_a, gen_a = run_stage("seeds", a), run_stage("generate", a)
    seeds_b, gen_b = run_stage("seeds", b), run_stage("generate", b)
    assert seeds_a.path == seeds_b.path
    assert gen_a.path != gen_b.path
    assert run_stage("generate", c).path == gen_a.path, "speed settings do not change the fingerprint"
    assert sum(teacher.attempts.values()) == 24


def test_secrets_never_reach_outputs_or_logs(tmp_path, api_env, teacher, capfd):
    argv, _ = config_for(tmp_path, teacher)
    argv[argv.index(teacher.base_url)] = teacher.base_url.replace("http://", "http://user:hunter2@")
    assert main(["parse", *argv]) == 0
    captured = capfd.readouterr()
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert api_env.encode() not in data, path
            assert b"hunter2" not in data, path
    assert api_env not in captured.out + captured.err
    assert "hunter2" not in captured.out + captured.err


def _journal_lines(out_dir: Path) -> int:
    files = list(out_dir.glob("generate/*/responses.jsonl"))
    return sum(1 for _ in open(files[0])) if files else 0


@pytest.mark.parametrize("kill_after", [5, 25])
def test_kill_9_then_resume_gives_identical_rows(tmp_path, api_env, kill_after):
    n = 40
    with TeacherServer() as clean:
        _, reference = config_for(tmp_path, clean, out="reference", n=n)
        expected = rows(run_stage("parse", reference))
    with TeacherServer(latency=(0.02, 0.15)) as server:
        argv, config = config_for(tmp_path, server, *OFFLINE, n=n)
        env = dict(os.environ)
        proc = subprocess.Popen(
            [sys.executable, "-m", "dataset_builder", "build", *argv],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while _journal_lines(tmp_path / "out") < kill_after and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        (journal,) = (tmp_path / "out").glob("generate/*/responses.jsonl")
        stored = {json.loads(line)["raw_index"] for line in journal.read_text().splitlines() if line.endswith("}")}
        assert kill_after <= len(stored) < n, "killed mid-run"
        before = dict(server.attempts)

        got = rows(run_stage("parse", config))

    assert got == expected
    # no stored answer was asked for again; each row was answered at least once
    for i in stored:
        assert server.attempts[i] == before[i] == 1
    assert set(server.attempts) == set(range(n))
    lines = journal.read_text().splitlines()
    assert sorted(json.loads(line)["raw_index"] for line in lines) == list(range(n)), "no duplicates"


def test_torn_last_journal_line_is_dropped(tmp_path, api_env, teacher):
    _, config = config_for(tmp_path, teacher)
    seeds = run_stage("seeds", config)
    from dataset_builder.pipeline import run_dir_for

    gen, _ = run_dir_for("generate", config, seeds)
    gen.path.mkdir(parents=True)
    good = {"raw_index": 0, "response": "[Problem Description]\nx\n[Solution]\ny", "finish_reason": "stop"}
    (gen.path / "responses.jsonl").write_text(json.dumps(good) + "\n" + '{"raw_index": 1, "resp')
    run_stage("generate", config)
    assert 0 not in teacher.attempts and teacher.attempts[1] == 1
    assert len(gen.load()) == 12


def test_summary_lines_count_kept_and_dropped(tmp_path, api_env, teacher, capsys):
    corpus = write_corpus(tmp_path / "corpus", n_python=5, extra=False)
    (corpus / "empty.py").write_text("\n")
    argv, _ = config_for(tmp_path, teacher, n=5)
    assert main(["parse", *argv, "--languages", "{python: 6}"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.split()[:3] == ["seeds", "5", "rows"] and "empty=1" in line for line in lines)
    assert any(line.split()[:3] == ["generate", "5", "rows"] for line in lines)
    assert any(line.split()[:3] == ["parse", "5", "rows"] for line in lines)
