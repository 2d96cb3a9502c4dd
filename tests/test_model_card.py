"""The model card of a training run (`oss_sft.card`): metadata the Hub reads, the loss plot, nothing local leaked."""

import json
import warnings

import pytest
import yaml

import train_sft
from oss_common.card import TOY_MODEL_NOTICE
from oss_common.template import PROMPT
from oss_sft.card import LOSS_PLOT, plot_loss, write_model_card

TOKEN = "hf_TestSecretToken0123456789abcdef"
LOG_HISTORY = [
    {"step": s, "epoch": s / 10, "loss": 2.0 / s, "learning_rate": 5e-5 * (1 - s / 21), "grad_norm": 1.5}
    for s in range(1, 21)
] + [{"step": 20, "epoch": 2.0, "train_runtime": 12.3, "train_loss": 0.3}]
HARDWARE = {"device_names": ["NVIDIA A100-SXM4-80GB"], "devices_per_node": 2, "num_processes": 2}


def parse(tmp_path, recipe, *extra):
    argv = ["--config", recipe, "--output_dir", str(tmp_path / "out"), "--use_cpu", "true", "--hub_token", TOKEN]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return train_sft.make_parser().parse_args_and_config([*argv, *extra])


def front_matter(path):
    text = path.read_text()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1]), text


@pytest.fixture
def stage1_card(tmp_path):
    script_args, training_args, model_args = parse(tmp_path, "recipes/magicoder/cl-7b/stage1_oss_instruct.yaml")
    training_args.gradient_accumulation_steps = 128
    state = {"global_step": 20, "log_history": LOG_HISTORY}
    path = write_model_card(
        training_args.output_dir, script_args, training_args, model_args, state, HARDWARE, elapsed_s=3725
    )
    return path


def test_card_metadata(stage1_card):
    meta, _ = front_matter(stage1_card)
    assert meta["base_model"] == "codellama/CodeLlama-7b-Python-hf"
    assert meta["datasets"] == ["ise-uiuc/Magicoder-OSS-Instruct-75K"]
    assert meta["license"] == "llama2"
    assert {"magicoder", "oss-instruct", "code"} <= set(meta["tags"])
    assert meta["pipeline_tag"] == "text-generation"
    assert meta["model-index"] == [{"name": "out", "results": []}]


def test_card_reloads_with_huggingface_hub(stage1_card):
    """The empty model-index is the slot evaluation fills: it round-trips through ModelCard and takes results."""
    from huggingface_hub import EvalResult, ModelCard

    card = ModelCard.load(stage1_card)
    assert card.data.model_name == "out" and card.data.eval_results == []
    card.data.eval_results = [
        EvalResult(
            task_type="text-generation",
            dataset_type="evalplus/humanevalplus",
            dataset_name="HumanEval+",
            metric_type="pass@1",
            metric_value=55.5,
        )
    ]
    meta = yaml.safe_load(card.data.to_yaml())
    assert meta["model-index"][0]["results"][0]["metrics"][0]["value"] == 55.5


def test_card_body(stage1_card):
    _, text = front_matter(stage1_card)
    assert PROMPT in text  # the training prompt, verbatim
    assert f"![Training loss]({LOSS_PLOT})" in text
    for expected in (
        "revision `main`",
        "| learning rate | 5e-05 |",
        "| learning rate reached | 4.7619e-05 (step 1) |",  # the highest logged: the linear decay's first step
        "| schedule | linear, 15 warmup steps |",
        "| optimizer | adafactor |",
        "512 = 2 per device x 2 processes x 128 accumulation steps",
        "| max length | 1216 |",
        "| max grad norm | disabled (0) |",
        "NVIDIA A100-SXM4-80GB (2 per node)",
        "Processes: 2",
        "1 h 02 min",
        "Intended use and limitations",
        "@inproceedings{wei2024magicoder",
    ):
        assert expected in text, expected


def test_loss_plot_is_a_readable_png(stage1_card):
    from matplotlib import image

    png = stage1_card.parent / LOSS_PLOT
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = image.imread(png)
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100


def test_loss_plot_has_a_legend_and_integer_steps(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    drawn = []
    monkeypatch.setattr(plt, "close", drawn.append)
    history = [{"step": step, "loss": 2.0 - 0.3 * step, "learning_rate": 1e-5 * step} for step in (1, 2, 3)]
    assert plot_loss(history, tmp_path / LOSS_PLOT)
    (figure,) = drawn
    ax = figure.axes[0]
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["training loss", "learning rate"]
    ticks = [tick for tick in ax.get_xticks() if 1 <= tick <= 3]
    assert ticks and all(float(tick).is_integer() for tick in ticks)


def test_no_token_or_local_path_leaks(tmp_path):
    """Stage 2 from a local stage-1 folder, on a local dataset file: neither path, nor the token, is in the card."""
    stage1 = tmp_path / "stage1"
    stage1.mkdir()
    (stage1 / "README.md").write_text("---\nbase_model: deepseek-ai/deepseek-coder-6.7b-base\n---\n# stage 1\n")
    data = tmp_path / "data" / "evol.jsonl"
    data.parent.mkdir()
    data.write_text(json.dumps({"instruction": "x", "response": "y"}) + "\n")
    script_args, training_args, model_args = parse(
        tmp_path,
        "recipes/magicoder/ds-6.7b/stage2_evol_instruct.yaml",
        "--model_name_or_path",
        str(stage1),
        "--dataset_name",
        str(data),
    )
    path = write_model_card(
        training_args.output_dir, script_args, training_args, model_args, {"log_history": []}, HARDWARE, 10.0
    )
    text = path.read_text()
    meta, _ = front_matter(path)
    assert TOKEN not in text and "hf_" not in text
    assert str(tmp_path) not in text and "/tmp" not in text
    assert meta["base_model"] == "deepseek-ai/deepseek-coder-6.7b-base"  # the lineage, from stage 1's card
    assert meta["license"] == "other" and meta["license_name"] == "deepseek"
    assert "datasets" not in meta  # a local file is no Hub dataset
    assert "`stage1 (local)`" in text and "`evol.jsonl (local)`" in text
    assert "No training loss was logged." in text
    assert not (path.parent / LOSS_PLOT).exists()


@pytest.mark.parametrize("toy", [True, False])
def test_a_published_local_dataset_is_named_by_its_build(tmp_path, toy):
    """A folder the builder published: its name, version and fingerprint, and the toy notice when its build says so."""
    hub = tmp_path / "publish" / "cc01f84f7384e2af" / "hub"
    hub.mkdir(parents=True)
    build = {"name": "oss-instruct-quickstart", "version": "0.1.0", "fingerprint": "cc01f84f7384e2af"}
    (hub / "build.json").write_text(json.dumps(build | {"card": {"toy_teacher": toy}}))
    script_args, training_args, model_args = parse(
        tmp_path, "recipes/quickstart/stage1_oss_instruct.yaml", "--dataset_name", str(hub)
    )
    path = write_model_card(
        training_args.output_dir, script_args, training_args, model_args, {"log_history": []}, HARDWARE, 10.0
    )
    meta, text = front_matter(path)
    assert "- Training data: `oss-instruct-quickstart` version `0.1.0`, build `cc01f84f7384e2af`" in text
    assert "hub (local)" not in text and str(tmp_path) not in text
    assert "datasets" not in meta
    body = text.split("---\n", 2)[2].lstrip()
    assert body.startswith(TOY_MODEL_NOTICE) is toy


def test_a_warmup_fraction_is_resolved_and_the_rate_reached_is_stated(tmp_path):
    """The quickstart's warm-up is a fraction of the steps: 1 of 6 here; the card says the peak the run trained at."""
    script_args, training_args, model_args = parse(tmp_path, "recipes/quickstart/stage1_oss_instruct.yaml")
    rates = [0.0, 5e-5, 4e-5, 3e-5, 2e-5, 1e-5]
    state = {
        "global_step": 6,
        "max_steps": 6,
        "log_history": [{"step": s + 1, "learning_rate": lr} for s, lr in enumerate(rates)],
    }
    path = write_model_card(training_args.output_dir, script_args, training_args, model_args, state, HARDWARE, 9.0)
    text = path.read_text()
    assert "| learning rate reached | 5e-05 (step 2) |" in text
    assert "| schedule | linear, 1 warmup step (0.05 of 6 steps) |" in text
