import json

import pytest

from dataset_builder.cli import parse_config
from dataset_builder.config import ConfigError
from dataset_builder.pipeline import run_stage
from tests.helpers.runs import load_rejects


def evol_file(tmp_path, rows):
    path = tmp_path / "evol.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_evol_rows_map_to_instruction_response(tmp_path):
    rows = [
        {"instruction": " Write a function that adds. ", "output": "def add(a, b):\n    return a + b\n"},
        {"instruction": "", "output": "orphan answer"},
        {"instruction": "Explain recursion.", "output": "   "},
        {"instruction": "Reverse a list.", "output": "xs[::-1]"},
    ]
    config = parse_config(
        ["--pipeline", "evol_instruct", "--evol_dataset", evol_file(tmp_path, rows), "--output_dir", str(tmp_path)]
    )
    run = run_stage("evol", config)
    ds = run.load()
    assert ds.column_names == ["raw_index", "index", "instruction", "response"]
    assert ds.to_list() == [
        {
            "raw_index": 0,
            "index": 0,
            "instruction": "Write a function that adds.",
            "response": rows[0]["output"].strip(),
        },
        {"raw_index": 3, "index": 1, "instruction": "Reverse a list.", "response": "xs[::-1]"},
    ]
    assert run.stats()["dropped"] == {"empty_instruction": 1, "empty_response": 1}
    assert sorted(load_rejects(run)["reason"]) == ["empty_instruction", "empty_response"]


def test_evol_missing_columns_are_named(tmp_path):
    config = parse_config(
        [
            "--pipeline",
            "evol_instruct",
            "--evol_dataset",
            evol_file(tmp_path, [{"prompt": "x", "completion": "y"}]),
            "--output_dir",
            str(tmp_path),
        ]
    )
    with pytest.raises(ConfigError, match="evol_instruction_field"):
        run_stage("evol", config)


def test_stage_outside_the_recipe_pipeline_is_an_error(tmp_path):
    config = parse_config(["--output_dir", str(tmp_path)])
    with pytest.raises(ConfigError, match="not part of the 'oss_instruct' pipeline"):
        run_stage("evol", config)
