"""Check before spending: the preflight and the dry run, through the real CLI."""

import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from dataset_builder.cli import main, parse_config
from dataset_builder.preflight import hub_problems
from tests.conftest import OFFLINE, teacher_argv, write_corpus
from tests.helpers.teacher_server import TeacherServer

ROOT = Path(__file__).resolve().parents[1]


def offline_env(tmp_path, api_env) -> dict:
    """The environment of a machine without the Hub: a closed loopback port and an empty cache."""
    (tmp_path / "hf-cache").mkdir(exist_ok=True)
    return {
        **os.environ,
        "OPENAI_API_KEY": api_env,
        "HF_ENDPOINT": "http://127.0.0.1:9",
        "HF_HUB_CACHE": str(tmp_path / "hf-cache"),
        "HF_HUB_DISABLE_XET": "1",
        "PYTHONPATH": str(ROOT),
    }


def test_every_problem_is_reported_at_once_before_any_request(tmp_path, api_env):
    corpus = write_corpus(tmp_path / "corpus", n_python=4, extra=False)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        yaml.safe_dump(
            {
                "corpus": str(corpus),
                "languages": {"python": 4},
                "teacher_model": "gpt-4-no-such-model",
                "benchmarks": ["humaneval", "mbpp"],  # mbpp comes from the Hub, which is out of reach
                "output_dir": str(tmp_path / "out"),
            }
        )
    )
    with TeacherServer() as server:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "dataset_builder", "build", "--config", str(recipe)]
            + ["--teacher_base_url", server.base_url],
            capture_output=True,
            text=True,
            env=offline_env(tmp_path, api_env),
            timeout=120,
        )
        elapsed = time.monotonic() - started
    assert done.returncode == 2, done.stderr
    assert "2 problems found before anything was spent" in done.stderr
    assert "no model 'gpt-4-no-such-model'" in done.stderr and "teacher_model" in done.stderr
    assert "Benchmark 'mbpp' could not be loaded" in done.stderr and "skip_benchmarks" in done.stderr
    assert "Traceback" not in done.stderr
    assert server.bodies == [], "no chat-completion request was sent"
    assert not (tmp_path / "out").exists()
    assert elapsed < 60


def test_a_missing_corpus_and_a_wrong_model_are_listed_together(tmp_path, api_env, teacher, capsys):
    argv = teacher_argv(tmp_path, teacher, *OFFLINE)
    argv[argv.index("--corpus") + 1] = str(tmp_path / "nowhere")
    argv[argv.index("--teacher_model") + 1] = "no-such-model"
    assert main(["generate", *argv]) == 2
    err = capsys.readouterr().err
    assert "2 problems" in err and "nowhere' is neither" in err and "no-such-model" in err
    assert sum(teacher.attempts.values()) == 0


def test_an_unknown_language_is_refused_when_the_recipe_is_read(tmp_path, api_env, teacher, capsys):
    argv = teacher_argv(tmp_path, teacher, *OFFLINE)
    argv[argv.index("--languages") + 1] = "{python: 2, klingon: 3}"
    assert main(["generate", *argv]) == 2
    err = capsys.readouterr().err
    assert "Unknown language 'klingon'" in err and "known: " in err and "python" in err
    assert sum(teacher.attempts.values()) == 0


def test_complete_stages_are_not_checked_again(tmp_path, api_env):
    with TeacherServer() as server:
        argv = teacher_argv(tmp_path, server, *OFFLINE, n=4)
        assert main(["generate", *argv]) == 0
    # the teacher is gone, but generate is complete: parse runs
    assert main(["parse", *argv]) == 0


def test_dry_run_writes_nothing_and_honours_max_tokens(tmp_path, api_env, teacher, capsys):
    argv = teacher_argv(tmp_path, teacher, *OFFLINE, "--max_tokens", "50")
    assert main(["build", *argv, "--dry_run"]) == 0
    out = capsys.readouterr().out
    assert "12 requests to send" in out
    assert "prompt tokens" in out and "$" in out
    assert "completion tokens ~600 (50/row from expected_completion_tokens, max_tokens 50)" in out
    assert "Nothing was sent." in out
    assert not (tmp_path / "out").exists()
    assert sum(teacher.attempts.values()) == 0


def test_dry_run_after_a_partial_run_counts_only_what_is_missing(tmp_path, api_env, teacher, capsys):
    argv = teacher_argv(tmp_path, teacher, *OFFLINE)
    assert main(["seeds", *argv]) == 0
    before = sorted(str(p) for p in (tmp_path / "out").rglob("*"))
    assert main(["generate", *argv, "--dry_run"]) == 0
    assert "12 requests to send (0 already answered)" in capsys.readouterr().out
    assert sorted(str(p) for p in (tmp_path / "out").rglob("*")) == before


def test_dry_run_of_a_model_without_a_known_price_prints_the_tokens(tmp_path, api_env, capsys):
    with TeacherServer(listed=("my-own-model",)) as server:
        argv = teacher_argv(tmp_path, server, *OFFLINE)
        argv[argv.index("gpt-3.5-turbo-1106")] = "my-own-model"
        assert main(["generate", *argv, "--dry_run"]) == 0
        out = capsys.readouterr().out
        assert "completion tokens ~6,600" in out
        assert "unknown (set price_input_per_million / price_output_per_million" in out
        main(["generate", *argv, "--dry_run", "--price_input_per_million", "1", "--price_output_per_million", "2"])
    # 12 rows x 550 expected completion tokens x $2/M = $0.0132, plus the prompt tokens at $1/M
    cost = float(capsys.readouterr().out.split("cost              ~$")[1].split()[0])
    assert 0.0132 < cost < 0.02


def test_a_push_needs_a_token_that_the_hub_accepts(tmp_path, hub, monkeypatch):
    from huggingface_hub import constants

    config = parse_config(["--push_to_hub", "test-org/data", "--output_dir", str(tmp_path)])
    assert hub_problems(config) == []
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    (problem,) = hub_problems(config)
    assert "Cannot push to test-org/data" in problem and "hf auth login" in problem
