"""The cost estimator (`python -m oss_runbooks.estimate`): parameter counts, FLOPs, GPU hours, training memory, the
teacher's requests, tokens and dollars (with the verified pipelines' test-writing requests), the markdown table."""

import warnings

import pytest

from oss_runbooks import costs, estimate
from tests.helpers.runbooks import ROOT


def test_parameter_counts_of_the_bases():
    codellama = costs.params(costs.SHAPES["codellama/CodeLlama-7b-Python-hf"])
    deepseek = costs.params(costs.SHAPES["deepseek-ai/deepseek-coder-6.7b-base"])
    assert codellama == pytest.approx(6.74e9, rel=0.01)
    assert codellama == 6_738_415_616  # LlamaForCausalLM(CodeLlama-7b-Python-hf config).num_parameters()
    assert deepseek == pytest.approx(6.74e9, rel=0.01) and deepseek - codellama == 2 * 256 * 4096  # 256 more tokens


def test_parameter_count_matches_transformers():
    """The formula against a real (tiny) LlamaForCausalLM of the same family, with grouped KV heads."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    shape = costs.Shape(hidden=64, layers=3, intermediate=176, vocab=300, heads=8, kv_heads=2)
    config = LlamaConfig(
        hidden_size=64,
        num_hidden_layers=3,
        intermediate_size=176,
        vocab_size=300,
        num_attention_heads=8,
        num_key_value_heads=2,
        tie_word_embeddings=False,
    )
    with torch.device("meta"):
        model = LlamaForCausalLM(config)
    assert costs.params(shape) == model.num_parameters()


def test_flops_hours_and_tokens():
    gpu = costs.GPUS["a100-80gb"]
    result = costs.estimate(gpu, 0.43)
    slower = costs.estimate(gpu, 0.215)
    h100 = costs.estimate(costs.GPUS["h100"], 0.43)
    for name, model in result["models"].items():
        for i, stage in enumerate(model["stages"]):
            assert stage["flops"] == pytest.approx(6 * model["params"] * stage["computed_tokens"])
            assert stage["gpu_hours"] == pytest.approx(stage["flops"] / (312e12 * 0.43) / 3600)
            assert slower["models"][name]["stages"][i]["gpu_hours"] == pytest.approx(2 * stage["gpu_hours"])
            assert h100["models"][name]["stages"][i]["gpu_hours"] == pytest.approx(stage["gpu_hours"] * 312 / 989)
    stage1, stage2 = result["models"]["MagicoderS-DS-6.7B"]["stages"]
    assert stage1["tokens"] == pytest.approx(75_000 * 2 * 600)  # the paper's +90M
    assert stage1["tokens"] + stage2["tokens"] == pytest.approx(240e6)  # the paper's +240M
    assert stage1["computed_tokens"] == pytest.approx(stage1["tokens"] / 0.78)  # padded micro-batches
    assert [s["stage"] for s in result["models"]["Magicoder-CL-7B"]["stages"]] == [1]
    with pytest.raises(ValueError, match="MFU"):
        costs.estimate(gpu, 0)


def test_teacher_cost_by_hand():
    t = costs.teacher()
    assert t["requests"] == 80_000 and t["model"] == "gpt-3.5-turbo-1106"
    # 8 lines x 33 characters of seed; system (107 chars) and user message (709 - 6 + 264 chars) at 3.5 chars/token,
    # 4 tokens of overhead each
    assert t["seed_chars"] == 264
    assert t["prompt_tokens"] == 80_000 * ((4 + 107 * 2 // 7) + (4 + 967 * 2 // 7))
    assert t["completion_tokens"] == 80_000 * 550
    assert t["dollars"]["live"] == pytest.approx((t["prompt_tokens"] * 1.0 + t["completion_tokens"] * 2.0) / 1e6)
    assert t["dollars"]["batch"] == pytest.approx(t["dollars"]["live"] / 2)


def test_recipe_values_agree_with_train_sft():
    """The estimator reads the training recipes as YAML; train_sft.py's parser reads the same values."""
    import torch

    import train_sft

    cpu = [] if torch.cuda.is_available() else ["--use_cpu", "true"]
    for folder, _ in set(costs.MODELS.values()):
        for number, name in costs.STAGE_RECIPES.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                _, args, _ = train_sft.make_parser().parse_args_and_config(
                    ["--config", str(ROOT / folder / name), *cpu]
                )
            stage = costs.stage(folder, number)
            assert stage["epochs"] == args.num_train_epochs
            assert stage["micro_batch_tokens"] == args.per_device_train_batch_size * args.max_length
            assert stage["computed_tokens"] > stage["tokens"]  # padded, not packed


def test_memory_fits_the_papers_gpus():
    shape = costs.SHAPES["codellama/CodeLlama-7b-Python-hf"]
    memory = costs.training_memory_gib(shape, 2 * 1216, 2)
    n = costs.params(shape)
    assert memory["weights_grads_optimizer"] == pytest.approx(n * 4 / 2**30, rel=0.01)  # Adafactor's state is tiny
    assert memory["optimizer"] < 0.02
    assert memory["zero3"] < memory["ddp"] < 80  # the recipe's claim: DDP fits an 80 GB GPU without checkpointing
    assert "fits" in estimate._fits(memory, costs.GPUS["a100-80gb"], 2)
    small = costs.GPU("24 GB", 1e14, 24, 1e12)
    assert "too much" in estimate._fits(memory, small, 2)


def test_markdown_lists_the_four_models(capsys):
    assert estimate.main(["--markdown", "--gpu", "h100"]) == 0
    out = capsys.readouterr().out
    table = [line for line in out.splitlines() if line.startswith("| ")]
    assert len(table) == 5 and "H100" in table[0] and "MFU 43%" in table[0]
    for name in costs.MODELS:
        assert any(line.startswith(f"| {name} |") for line in table)
    assert "Batch API" in out
    assert estimate.main(["--mfu", "1.5"]) == 2
    assert "MFU must be in (0, 1]" in capsys.readouterr().err


# --- the verified pipelines' test-writing requests -----------------------------------------------------------------


def _recipe(tmp_path, **overrides) -> str:
    import yaml

    recipe = yaml.safe_load((ROOT / "recipes/oss_instruct/magicoder.yaml").read_text()) | overrides
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return str(path)


def test_costs_count_the_test_requests_of_verified_pipelines(tmp_path, monkeypatch):
    from dataset_builder import prompts
    from dataset_builder.config import PAPER_LANGUAGES
    from dataset_builder.teacher.base import estimate_tokens

    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    plain = costs.teacher()
    assert plain["tests"] == {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0}

    verified = costs.teacher(_recipe(tmp_path, pipeline="oss_instruct_verified"))
    # 94% of the 80K seeds parse; each prompt: the tests prompt around 550 tokens of problem and solution
    requests = {lang: round(n * 0.94) for lang, n in PAPER_LANGUAGES.items()}
    prompt = sum(n * (estimate_tokens(prompts.tests_messages("", "", lang)) + 550) for lang, n in requests.items())
    assert verified["tests"] == {"requests": 75_200, "prompt_tokens": prompt, "completion_tokens": 75_200 * 400}
    assert verified["requests"] == plain["requests"] == 80_000
    assert verified["prompt_tokens"] == plain["prompt_tokens"] + prompt
    assert verified["completion_tokens"] == plain["completion_tokens"] + 75_200 * 400
    live = (verified["prompt_tokens"] * 1.0 + verified["completion_tokens"] * 2.0) / 1e6  # gpt-3.5-turbo-1106
    assert verified["dollars"]["live"] == pytest.approx(live)
    assert "80,000 requests + 75,200 test-writing requests to gpt-3.5-turbo-1106" in estimate.teacher_line(verified)

    verify = costs.teacher(_recipe(tmp_path, pipeline="verify", verify_dataset="x.jsonl", verify_max_rows=8_000))
    assert verify["requests"] == 0 and verify["tests"]["requests"] == 8_000  # one per row, the recipe's mix
    assert verify["completion_tokens"] == 8_000 * 400
    with pytest.raises(ValueError, match="set verify_max_rows"):
        costs.teacher(_recipe(tmp_path, pipeline="verify", verify_dataset="x.jsonl"))
