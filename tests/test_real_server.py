"""The generator against a real OpenAI-compatible server: `transformers serve` on loopback."""

import json
from pathlib import Path

import pytest

from dataset_builder.cli import main, parse_config
from dataset_builder.pipeline import run_stage
from dataset_builder.teacher.local_server import serve
from tests.conftest import write_corpus
from tests.helpers.runs import load_rejects
from tests.helpers.tiny_model import build_tiny_model

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_server(tmp_path_factory):
    model_dir = build_tiny_model(tmp_path_factory.mktemp("tiny-model"))
    with serve(model_dir) as server:
        yield server


def test_build_against_transformers_serve(tmp_path, monkeypatch, tiny_server):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # a local server needs no key
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    corpus = write_corpus(tmp_path / "corpus", n_python=6)
    config = parse_config(
        [
            "--corpus",
            str(corpus),
            "--languages",
            "{python: 4, rust: 1, shell: 1}",
            "--teacher_base_url",
            tiny_server.base_url,
            "--teacher_model",
            tiny_server.model,
            "--max_tokens",
            "12",
            "--concurrency",
            "3",
            "--output_dir",
            str(tmp_path / "out"),
        ]
    )
    parsed = run_stage("parse", config)
    generated = run_stage("generate", config).load()
    assert len(generated) == 6
    assert set(generated["finish_reason"]) <= {"stop", "length"}
    assert all(n > 0 for n in generated["prompt_tokens"])
    assert all(0 < n <= 12 for n in generated["completion_tokens"])
    assert all(isinstance(r, str) for r in generated["response"])
    # A random tiny model writes no sections: every row is rejected with a reason, none is lost.
    stats = parsed.stats()
    assert stats["kept"] + sum(stats["dropped"].values()) == 6
    assert len(parsed.load()) + len(load_rejects(parsed)) == 6
    assert set(load_rejects(parsed)["reason"]) <= {"truncated", "no_sections", "missing_solution_section"}
    # greedy + per-row seed: a second run in another folder asks again and gets the same answers
    again = parse_config(["--output_dir", str(tmp_path / "again")] + _same(config))
    assert run_stage("generate", again).load()["response"] == generated["response"]


def _same(config):
    fields = ("corpus", "teacher_base_url", "teacher_model", "max_tokens", "concurrency")
    out = ["--languages", json.dumps(config.languages)]
    for name in fields:
        out += [f"--{name}", str(getattr(config, name))]
    return out


@pytest.mark.slow
def test_quickstart_with_local_smollm2(tmp_path, monkeypatch, capsys):
    """`make quickstart` offline: SmolLM2 served locally, every stage runs, counts are printed."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    recipe = str(ROOT / "recipes/oss_instruct/quickstart.yaml")
    assert (
        main(["build", "--config", recipe, "--output_dir", str(tmp_path / "out"), "--local_teacher_max_tokens", "64"])
        == 0
    )
    (parse_dir,) = (tmp_path / "out" / "parse").iterdir()
    stats = json.loads((parse_dir / "stats.json").read_text())
    assert stats["rows_in"] == 12
    assert stats["kept"] + sum(stats["dropped"].values()) == 12
    (gen_dir,) = (tmp_path / "out" / "generate").iterdir()
    config = json.loads((gen_dir / "config.json").read_text())
    assert config["fingerprint_inputs"]["teacher_model"] == "local/SmolLM2-135M-Instruct-Q4_1-guided"
    assert "build: done" in capsys.readouterr().out
