"""The verify pipeline's first stage: an existing dataset in either released schema, with every original column."""

import json

import pytest

from dataset_builder.config import BuilderConfig, ConfigError
from dataset_builder.pipeline import run_stage
from tests.helpers.runs import load_rejects


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def config(tmp_path, source, **fields):
    return BuilderConfig(pipeline="verify", verify_dataset=str(source), output_dir=str(tmp_path / "out"), **fields)


def test_oss_instruct_schema_keeps_its_columns_and_raw_index(tmp_path):
    rows = [
        {"lang": "python", "raw_index": 10 + i, "problem": f"p{i}", "solution": f"```python\nx = {i}\n```"}
        for i in range(3)
    ]
    rows.append({"lang": "rust", "raw_index": 99, "problem": "  ", "solution": "```rust\nfn f() {}\n```"})
    source = write_jsonl(tmp_path / "oss.jsonl", rows)
    run = run_stage("source", config(tmp_path, source))
    kept = run.load()
    assert kept["raw_index"] == [10, 11, 12]  # unique: the dataset's own
    assert kept.column_names == ["lang", "raw_index", "problem", "solution"]
    assert load_rejects(run)["reason"] == ["empty_problem"]
    stats = run.stats()
    assert stats["rows_in"] == 4 and stats["kept"] == 3 and stats["source"]["schema"] == ["problem", "solution"]


def test_evol_schema_takes_the_language_from_the_fence(tmp_path):
    rows = [
        {"instruction": "Sort a list.", "response": "Here:\n```py\nsorted(x)\n```"},
        {"instruction": "Add.", "response": "```c++\nint add(int a, int b) { return a + b; }\n```"},
        {"instruction": "Explain recursion.", "response": "It is a function calling itself."},
    ]
    source = write_jsonl(tmp_path / "evol.jsonl", rows)
    kept = run_stage("source", config(tmp_path, source)).load()
    assert kept["lang"] == ["python", "cpp", ""]
    assert kept["raw_index"] == [0, 1, 2]  # none in the data: the row's position
    assert {"instruction", "response"} <= set(kept.column_names)


def test_duplicate_raw_index_is_kept_under_another_name(tmp_path):
    rows = [{"lang": "python", "raw_index": 7, "problem": "p", "solution": "```python\n1\n```"}] * 2
    kept = run_stage("source", config(tmp_path, write_jsonl(tmp_path / "d.jsonl", rows))).load()
    assert kept["raw_index"] == [0, 1] and kept["source_raw_index"] == [7, 7]


def test_sample_counts_the_rows_left_out(tmp_path):
    rows = [{"lang": "python", "problem": f"p{i}", "solution": "```python\n1\n```"} for i in range(10)]
    run = run_stage("source", config(tmp_path, write_jsonl(tmp_path / "s.jsonl", rows), verify_max_rows=4))
    stats = run.stats()
    assert stats["rows_in"] == 10 and stats["kept"] == 4 and stats["dropped"] == {"not_sampled": 6}
    assert len(set(run.load()["raw_index"])) == 4


def test_a_dataset_in_neither_schema_names_both(tmp_path):
    source = write_jsonl(tmp_path / "bad.jsonl", [{"text": "hello"}])
    with pytest.raises(ConfigError, match="problem/solution .* or instruction/response"):
        run_stage("source", config(tmp_path, source))


def test_missing_dataset_names_the_field():
    with pytest.raises(ConfigError, match="verify_dataset"):
        from dataset_builder.stages.source import load

        load(BuilderConfig(pipeline="verify"))


def test_a_column_a_later_stage_adds_is_kept_under_source_and_a_clash_names_the_fix(tmp_path):
    row = {"lang": "python", "problem": "p", "solution": "```python\n1\n```", "exec_status": "pass", "tests": "t"}
    run = run_stage("source", config(tmp_path, write_jsonl(tmp_path / "v.jsonl", [row])))
    kept = run.load()
    assert kept["source_exec_status"] == ["pass"] and kept["source_tests"] == ["t"]
    assert "exec_status" not in kept.column_names and "tests" not in kept.column_names
    assert run.stats()["source"]["renamed"] == {"tests": "source_tests", "exec_status": "source_exec_status"}
    clash = write_jsonl(tmp_path / "c.jsonl", [{**row, "source_exec_status": "fail"}])
    with pytest.raises(ConfigError, match=r"both exec_status and source_exec_status.*Drop or rename"):
        run_stage("source", config(tmp_path / "c", clash))
