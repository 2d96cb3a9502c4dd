"""Evaluation results to the model card: the checks of `results.json` (`eval.results`), the table beside the paper
(`eval.table`), `model-index` and `.eval_results/` (`eval.model_index`, `eval.model_card`), and the push of both to a
loopback Hub stand-in (`eval.push`)."""

import copy
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from eval.model_card import NO_RESULTS_BULLET, RESULTS_BULLET, update_model_card
from eval.paper import BENCHMARKS, PAPER
from eval.push import push_results
from eval.results import ResultsError, score_rows, validate_results
from eval.table import markdown_table
from oss_sft.card import write_model_card
from tests.conftest import HF_TEST_TOKEN

RESULTS = {
    "schema": 1,
    "date": "2026-11-23T10:00:00+00:00",
    "model": {
        "name": "Magicoder-S-DS-6.7B (local)",
        "name_or_path": "/home/someone/private/checkpoints/magicoder-s-ds",
        "revision": None,
        "backend": "transformers",
        "dtype": "bfloat16",
    },
    "settings": {
        "batch_size": 1,
        "max_new_tokens": 512,
        "temperature": 0.0,
        "top_p": 1.0,
        "n_samples": 1,
        "template": "model",
        "prompt_style": "magicoder",
    },
    "versions": {"evalplus": "0.3.1", "transformers": "5.23.0", "torch": "2.13.0"},
    "benchmarks": {
        "humaneval": {
            "dataset": {
                "name": "HumanEval",
                "source": "evalplus HumanEvalPlus v0.1.10",
                "hash": "a1b2c3",
                "n_tasks": 164,
            },
            "scores": {"pass@1": 0.665},
            "plus_scores": {"pass@1": 0.604},
            "n_samples": 1,
            "complete": True,
        },
        "mbpp": {
            "dataset": {"name": "MBPP", "source": "evalplus MbppPlus v0.2.0", "hash": "d4e5f6", "n_tasks": 378},
            "scores": {"pass@1": 0.8},
            "plus_scores": {"pass@1": 0.7},
            "n_samples": 1,
            "n_tasks": 20,
            "complete": False,
        },
        "multiple-java": {
            "dataset": {
                "name": "MultiPL-E Java",
                "source": "bigcode-evaluation-harness (nvidia-bigcode-eval 26.3)",
                "harness_tasks": ["multiple-java"],
                "n_tasks": 158,
                "data": "local copy (offline)",
            },
            "scores": {"pass@1": 0.429},
            "plus_scores": None,
            "n_samples": 50,
            "temperature": 0.2,
            "top_p": 0.95,
            "complete": True,
        },
    },
}
EXPECTED = {  # (Hub dataset, config) -> percent, complete benchmarks only
    ("openai/openai_humaneval", None): 66.5,
    ("evalplus/humanevalplus", None): 60.4,
    ("nuprl/MultiPL-E", "humaneval-java"): 42.9,
}


def load_results(path) -> dict:
    """Read and validate `results.json` (or the run folder holding it), naming the file in every error."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    if not path.is_file():
        raise ResultsError(f"{path}: no such results file; run `python -m eval` first or pass the right path")
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ResultsError(f"{path}: not valid JSON ({e})") from e
    validate_results(results, source=str(path))
    return results


def write_json(path, data):
    path.write_text(json.dumps(data))
    return path


def front_matter(path):
    text = path.read_text()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1]), text


@pytest.fixture
def trained_dir(tmp_path):
    """A training output folder with the card `oss_sft/card.py` writes (empty model-index)."""
    out = tmp_path / "magicoder-s-ds"
    script_args = SimpleNamespace(
        dataset_mixture=None, dataset_name="ise-uiuc/Magicoder-Evol-Instruct-110K", dataset_revision=None
    )
    training_args = SimpleNamespace(
        hub_model_id=None,
        output_dir=str(out),
        per_device_train_batch_size=2,
        gradient_accumulation_steps=64,
        num_train_epochs=2,
        learning_rate=5e-5,
        lr_scheduler_type="linear",
        warmup_steps=15,
        optim="adafactor",
        packing=False,
        packing_strategy="bfd",
        padding_free=False,
        max_length=1216,
        bf16=True,
        fp16=False,
        max_grad_norm=0.0,
        seed=42,
        gradient_checkpointing=False,
    )
    model_args = SimpleNamespace(
        model_name_or_path="deepseek-ai/deepseek-coder-6.7b-base",
        model_revision=None,
        attn_implementation=None,
        use_peft=False,
    )
    hardware = {"device_names": ["NVIDIA H100"], "devices_per_node": 8, "num_processes": 8}
    write_model_card(out, script_args, training_args, model_args, {"log_history": []}, hardware, 3600.0)
    return out


def card_scores(readme) -> dict:
    from huggingface_hub import ModelCard

    card = ModelCard.load(readme)
    return {(r.dataset_type, r.dataset_config): r.metric_value for r in card.data.eval_results}


# --- reading -------------------------------------------------------------------------------------------------------


def test_load_results_reads_a_file_or_its_run_folder(tmp_path):
    path = write_json(tmp_path / "results.json", RESULTS)
    assert load_results(path) == RESULTS
    assert load_results(tmp_path) == RESULTS


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda r: r.pop("benchmarks"), "missing key 'benchmarks'"),
        (lambda r: r.update(schema=2), "schema is 2"),
        (lambda r: r["benchmarks"]["humaneval"]["scores"].update({"pass@1": 66.5}), "fractions in [0, 1]"),
        (lambda r: r["benchmarks"].update(gsm8k=r["benchmarks"]["humaneval"]), "unknown benchmark 'gsm8k'"),
        (lambda r: r["benchmarks"]["humaneval"].pop("complete"), "benchmarks.humaneval.complete"),
        (lambda r: r["benchmarks"]["multiple-java"].update(plus_scores={"pass@1": 0.1}), "has no plus tests"),
        (lambda r: r.update(date="yesterday"), "not an ISO-8601 date"),
    ],
)
def test_load_results_names_the_file_and_the_problem(tmp_path, change, expected):
    bad = copy.deepcopy(RESULTS)
    change(bad)
    path = write_json(tmp_path / "results.json", bad)
    with pytest.raises(ResultsError) as error:
        load_results(path)
    assert str(path) in str(error.value) and expected in str(error.value)


def test_load_results_on_broken_or_missing_file(tmp_path):
    broken = tmp_path / "results.json"
    broken.write_text('{"schema": 1, "date": ')
    with pytest.raises(ResultsError, match="not valid JSON") as error:
        load_results(broken)
    assert str(broken) in str(error.value)
    with pytest.raises(ResultsError, match="no such results file"):
        load_results(tmp_path / "nowhere.json")


def test_score_rows_flatten_base_and_plus_in_percent():
    rows = score_rows(RESULTS)
    assert [(r.name, r.metric, r.value, r.complete) for r in rows] == [
        ("HumanEval", "pass@1", 66.5, True),
        ("HumanEval+", "pass@1", 60.4, True),
        ("MBPP", "pass@1", 80.0, False),
        ("MBPP+", "pass@1", 70.0, False),
        ("MultiPL-E Java", "pass@1", 42.9, True),
    ]
    assert rows[2].partial == "partial: 20 of 378 tasks"


# --- the table -----------------------------------------------------------------------------------------------------


def table_rows(table: str) -> dict[str, list[str]]:
    lines = [line for line in table.splitlines() if line.startswith("| ")]
    return {cells[0]: cells[1:] for cells in ([c.strip() for c in line.strip("|").split("|")] for line in lines)}


def test_markdown_table_beside_requested_paper_models():
    table = markdown_table(RESULTS, ["MagicoderS-DS-6.7B", "Magicoder-CL-7B"])
    rows = table_rows(table)
    assert rows["Benchmark (pass@1, %)"] == [
        "Magicoder-S-DS-6.7B (local)",
        "MagicoderS-DS-6.7B (paper)",
        "Magicoder-CL-7B (paper)",
    ]
    assert rows["HumanEval"] == ["66.5", "76.8", "60.4"]
    assert rows["HumanEval+"] == ["60.4", "70.7", "55.5"]
    assert rows["MBPP"] == ["80.0 (partial: 20 of 378 tasks)", "75.7", "64.2"]
    assert rows["MultiPL-E Java"] == ["42.9", "—", "36.4"]
    assert "DS-1000" not in rows  # only the benchmarks of this run
    for expected in ("backend `transformers` (bfloat16)", "batch size 1", "hash `a1b2c3`", "EvalPlus 0.3.1"):
        assert expected in table, expected
    assert "50 samples a task at temperature 0.2, top_p 0.95" in table
    assert RESULTS["model"]["name_or_path"] not in table
    (java,) = [line for line in table.splitlines() if line.startswith("- MultiPL-E Java:")]
    assert "data: the harness's multiple-java (local copy (offline))" in java
    assert java.count("bigcode-evaluation-harness") == 1  # the harness that scored it, named once


def test_markdown_table_default_models_are_those_with_a_number():
    java_only = copy.deepcopy(RESULTS)
    java_only["benchmarks"] = {"multiple-java": RESULTS["benchmarks"]["multiple-java"]}
    header = table_rows(markdown_table(java_only))["Benchmark (pass@1, %)"]
    assert header[1:] == ["Magicoder-CL-7B (paper)", "MagicoderS-CL-7B (paper)"]
    assert len(table_rows(markdown_table(RESULTS))["HumanEval"]) == 1 + len(PAPER)
    with pytest.raises(ValueError, match="no paper numbers for"):
        markdown_table(RESULTS, ["GPT-4"])


def test_paper_numbers_cover_the_reference():
    assert PAPER["MagicoderS-DS-6.7B"]["humaneval"] == 76.8 and PAPER["MagicoderS-DS-6.7B"]["apps"] == 13.3
    assert PAPER["MagicoderS-CL-7B"]["multiple-rust"] == 40.3 and PAPER["Magicoder-CL-7B"]["ds1000"] == 29.9
    assert PAPER["CodeLlama-Python-7B"]["mbpp_plus"] == 45.4
    assert all(key in BENCHMARKS for scores in PAPER.values() for key in scores)


# --- the model card and .eval_results -------------------------------------------------------------------------------


def test_card_round_trip_from_the_training_card(trained_dir):
    from huggingface_hub import ModelCard, metadata_load

    assert NO_RESULTS_BULLET in (trained_dir / "README.md").read_text()
    readme = update_model_card(trained_dir, RESULTS)
    assert readme == trained_dir / "README.md"
    card = ModelCard.load(readme)
    assert card.data.model_name == "magicoder-s-ds"
    assert card_scores(readme) == EXPECTED  # the partial MBPP(+) is left out
    assert {r.metric_type for r in card.data.eval_results} == {"pass@1"}
    meta = metadata_load(readme)
    assert meta["base_model"] == "deepseek-ai/deepseek-coder-6.7b-base"  # the training card's metadata is kept
    assert len(meta["model-index"]) == 1 and len(meta["model-index"][0]["results"]) == 3
    body = card.text
    assert body.count("## Evaluation") == 1
    assert "| HumanEval | 66.5 |" in body and "(partial: 20 of 378 tasks)" in body
    assert body.index("## Training") < body.index("## Evaluation") < body.index("## Citation")
    assert NO_RESULTS_BULLET not in body and RESULTS_BULLET in body


def test_rerun_replaces_the_section_and_the_results(trained_dir):
    update_model_card(trained_dir, RESULTS)
    first = (trained_dir / "README.md").read_text()
    assert update_model_card(trained_dir, RESULTS).read_text() == first  # idempotent

    better = copy.deepcopy(RESULTS)
    better["benchmarks"]["humaneval"]["scores"]["pass@1"] = 0.701
    better["benchmarks"]["mbpp"]["complete"] = True
    del better["benchmarks"]["multiple-java"]
    readme = update_model_card(trained_dir, better)
    text = readme.read_text()
    assert text.count("## Evaluation") == 1 and "| HumanEval | 70.1 |" in text and "| HumanEval | 66.5 |" not in text
    assert card_scores(readme) == EXPECTED | {
        ("openai/openai_humaneval", None): 70.1,  # replaced
        ("google-research-datasets/mbpp", None): 80.0,  # now complete
        ("evalplus/mbppplus", None): 70.0,
    }  # MultiPL-E Java, not in this run, is kept


def test_eval_results_files(trained_dir):
    from huggingface_hub import parse_eval_result_entries

    update_model_card(trained_dir, RESULTS)
    folder = trained_dir / ".eval_results"
    assert sorted(p.name for p in folder.iterdir()) == ["humaneval.yaml", "humaneval_plus.yaml", "multiple-java.yaml"]
    data = yaml.safe_load((folder / "humaneval.yaml").read_text())
    assert data == [
        {
            "dataset": {"id": "openai/openai_humaneval", "task_id": "humaneval"},
            "value": 66.5,
            "date": "2026-11-23",
            "notes": "greedy pass@1, batch size 1, EvalPlus 0.3.1, evalplus HumanEvalPlus v0.1.10",
        }
    ]
    (java,) = parse_eval_result_entries(yaml.safe_load((folder / "multiple-java.yaml").read_text()))
    assert (java.dataset_id, java.task_id, java.value) == ("nuprl/MultiPL-E", "humaneval-java", 42.9)


def test_card_created_when_missing_and_nothing_private_written(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", HF_TEST_TOKEN)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-0123456789")
    model_dir = tmp_path / "evaluated"
    readme = update_model_card(model_dir, RESULTS, model_name="my-coder")
    assert card_scores(readme) == EXPECTED
    meta, text = front_matter(readme)
    assert meta["model-index"][0]["name"] == "my-coder" and "## Evaluation" in text
    for path in [readme, *(model_dir / ".eval_results").iterdir()]:
        written = path.read_text()
        assert HF_TEST_TOKEN not in written and "sk-test" not in written
        assert RESULTS["model"]["name_or_path"] not in written and str(tmp_path) not in written


def test_update_rejects_invalid_results(tmp_path):
    bad = copy.deepcopy(RESULTS)
    bad["benchmarks"]["humaneval"]["scores"]["pass@1"] = 66.5
    with pytest.raises(ResultsError, match="fractions"):
        update_model_card(tmp_path / "m", bad)
    assert not (tmp_path / "m" / "README.md").exists()


# --- push ----------------------------------------------------------------------------------------------------------


def test_push_results_to_the_hub(hub, trained_dir):
    from huggingface_hub import HfApi, hf_hub_download

    repo = "test-org/magicoder-s-ds-eval"
    HfApi().create_repo(repo)
    (trained_dir / "model.safetensors").write_bytes(b"not pushed by push_results")
    update_model_card(trained_dir, RESULTS)
    push_results(trained_dir, repo)

    for name in ("README.md", ".eval_results/humaneval.yaml"):
        downloaded = hf_hub_download(repo, name)
        assert open(downloaded, encoding="utf-8").read() == (trained_dir / name).read_text()
    files = set(HfApi().list_repo_files(repo))
    assert ".eval_results/multiple-java.yaml" in files and "model.safetensors" not in files
    assert f"Bearer {HF_TEST_TOKEN}" in hub.authorizations  # the token from the environment


def test_push_results_errors(hub, tmp_path, trained_dir):
    with pytest.raises(FileNotFoundError, match="run update_model_card first"):
        push_results(tmp_path / "empty", "test-org/none")
    with pytest.raises(RuntimeError, match="push the model first"):
        push_results(trained_dir, "test-org/does-not-exist")
