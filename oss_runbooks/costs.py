"""What the four paper models cost, computed from the recipes the runbooks run (`oss_runbooks.estimate` prints it).

Per model: the teacher's requests, tokens and dollars for the OSS-Instruct data (built once, shared by all four;
Evol-Instruct needs no teacher, only decontamination), training tokens and FLOPs per stage, GPU hours, evaluation
time, and the GPU memory each step needs. Read from the recipes: the seed quotas, seed lengths, teacher and prices of
the builder recipe (through the builder's own config loader and price table), epochs, max_length, micro-batch and
packing of the training recipes, the base model of stage 1, benchmarks and decoding of the EvalPlus recipe. Everything
else is a named constant below with its source. These are estimates to plan with, not measurements.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository: recipes/ is read from it
OSS_RECIPE = "recipes/oss_instruct/magicoder.yaml"
EVAL_RECIPE = "recipes/eval/evalplus.yaml"
STAGE_RECIPES = {1: "stage1_oss_instruct.yaml", 2: "stage2_evol_instruct.yaml"}
# The paper's models: their recipes folder and stages ("Magicoder" = stage 1, "MagicoderS" = stage 1 then stage 2).
MODELS = {
    "Magicoder-CL-7B": ("recipes/magicoder/cl-7b", (1,)),
    "MagicoderS-CL-7B": ("recipes/magicoder/cl-7b", (1, 2)),
    "Magicoder-DS-6.7B": ("recipes/magicoder/ds-6.7b", (1,)),
    "MagicoderS-DS-6.7B": ("recipes/magicoder/ds-6.7b", (1, 2)),
}


@dataclass(frozen=True)
class Shape:
    """A Llama-architecture decoder (both bases are LlamaForCausalLM, untied input and output embeddings)."""

    hidden: int
    layers: int
    intermediate: int
    vocab: int
    heads: int
    kv_heads: int


# From the models' config.json on the Hub.
SHAPES = {
    "codellama/CodeLlama-7b-Python-hf": Shape(
        hidden=4096, layers=32, intermediate=11008, vocab=32000, heads=32, kv_heads=32
    ),
    "deepseek-ai/deepseek-coder-6.7b-base": Shape(
        hidden=4096, layers=32, intermediate=11008, vocab=32256, heads=32, kv_heads=32
    ),
}


@dataclass(frozen=True)
class GPU:
    name: str
    peak_bf16_flops: float  # dense (no sparsity), per GPU, from the vendor's datasheet
    memory_gib: float
    bandwidth: float  # HBM bytes/s


GPUS = {
    "a100-80gb": GPU("A100-SXM4-80GB", peak_bf16_flops=312e12, memory_gib=80, bandwidth=2.039e12),
    "h100": GPU("H100-SXM5-80GB", peak_bf16_flops=989e12, memory_gib=80, bandwidth=3.35e12),
}

# --- the teacher ------------------------------------------------------------------------------------------------
# Mean characters per source line, newline included: measured over the bundled quickstart corpus
# (dataset_builder/corpus/quickstart, the paper's nine languages, ~15K lines). A seed is randint(min_lines, max_lines)
# lines, so its mean length is this times (min_lines + max_lines) / 2 from the recipe.
SEED_CHARS_PER_LINE = 33
# Completion tokens per request: the recipe's `expected_completion_tokens` (the builder's dry-run assumption for a
# problem plus its solution; the paper's Figure 7 shows their lengths).
# Verified pipelines (oss_instruct_verified, verify) send one more request per row for its tests: the tests prompt
# around a problem and solution of `expected_completion_tokens`, answered with `expected_tests_completion_tokens`;
# oss_instruct_verified asks for the seeds that parse (the builder's assumed rate), verify for `verify_max_rows` rows
# in the recipe's language mix (`dataset_builder.stages.tests.assumed_estimate`).
VERIFIED_PIPELINES = ("oss_instruct_verified", "verify")

# --- training ---------------------------------------------------------------------------------------------------
# Rows trained on per stage: the paper's ~75K OSS-Instruct rows after cleaning, ~110K evol-codealpaca-v1 rows.
PAPER_ROWS = {1: 75_000, 2: 110_000}
# Training tokens the paper reports (Table 4: Magicoder-DS +90M, MagicoderS-DS +240M, i.e. stage 2 = 150M), over its
# 2 epochs. Divided by rows x epochs they give the mean tokens per row (template + instruction + response + EOS):
# 600 for OSS-Instruct, ~682 for Evol-Instruct. DeepSeek-Coder's tokenizer; CodeLlama's is taken to be the same.
PAPER_TRAINING_TOKENS = {1: 90e6, 2: 240e6 - 90e6}
PAPER_EPOCHS = 2
# Share of real tokens in what the model computes on when micro-batches of 2 are padded to their longest row and not
# packed (the paper's setup): bench/padding_waste.py on an OSS-Instruct-like length mix. Packed recipes: 1.0.
PADDED_REAL_TOKEN_SHARE = 0.78
# Model FLOP utilisation: a published reference point for full fine-tuning of a 7B model on H100s, ~10K tokens/s per
# GPU at ~43% MFU (not measured here: bench/train_throughput.py measures it on your GPU). Used for the A100 too
# unless --mfu says otherwise.
DEFAULT_MFU = 0.43
PAPER_GPUS = 2  # 2x A100-80GB, plain DDP

# --- memory: bf16 full fine-tuning (the recipes load the weights in bf16; the Trainer keeps no fp32 copy) ----------
WEIGHT_BYTES = 2  # bf16 weights
GRAD_BYTES = 2  # bf16 gradients
DDP_BUCKET_BYTES = 2  # DDP's gradient buckets hold a second copy of the gradients (gradient_as_bucket_view off)
ADAFACTOR_STATE_BYTES = 4  # fp32; Adafactor keeps row + column second moments per matrix, no first moment
# Activations kept for the backward pass per token and layer without gradient checkpointing, in bf16 values: a Llama
# layer with SDPA attention saves ~20 x hidden (two RMSNorms whose fp32 internals count double, q/k before and after
# RoPE, q/k/v and the attention output) + 4 x intermediate (gate, up, SiLU(gate), their product). No attention matrix.
ACTIVATION_VALUES_PER_TOKEN_LAYER = (20, 4)  # (x hidden, x intermediate)
ACTIVATION_BYTES = 2
LOGIT_BYTES = 16  # per token and vocabulary entry: bf16 logits, the fp32 copy the loss takes, its softmax and gradient
OVERHEAD_GIB = 4  # CUDA context, NCCL buffers, allocator fragmentation

# --- evaluation: HumanEval+ (164 problems) and MBPP+ (378), the EvalPlus recipe's greedy decoding ------------------
EVAL_PROBLEMS = {"humaneval": 164, "mbpp": 378}
# Decoding at batch size 1 is bound by reading the weights once per token; transformers' eager generation reaches
# about a quarter of that bound on a 7B model (per-step Python and kernel-launch overhead). vLLM gets much closer.
DECODE_BANDWIDTH_EFFICIENCY = 0.25
EVAL_PROMPT_TOKENS = 1024  # longest prompt budgeted for the KV cache


def params(shape: Shape) -> int:
    """Parameters of the decoder: embeddings, attention, SwiGLU MLP, RMSNorms, the untied output layer."""
    h, head_dim = shape.hidden, shape.hidden // shape.heads
    attention = 2 * h * h + 2 * h * shape.kv_heads * head_dim  # q, o; k, v
    mlp = 3 * h * shape.intermediate  # gate, up, down
    layer = attention + mlp + 2 * h  # + two RMSNorm weights
    return 2 * shape.vocab * h + shape.layers * layer + h  # embeddings + lm_head, layers, final norm


def adafactor_state_values(shape: Shape) -> int:
    """Values of Adafactor's state: a matrix (rows, cols) keeps rows + cols second moments, a vector keeps its own."""
    h, kv = shape.hidden, shape.kv_heads * (shape.hidden // shape.heads)
    matrices = [(h, h), (kv, h), (kv, h), (h, h), (shape.intermediate, h), (shape.intermediate, h)]
    matrices.append((h, shape.intermediate))
    layer = sum(rows + cols for rows, cols in matrices) + 2 * h
    return 2 * (shape.vocab + h) + shape.layers * layer + h


def training_flops(n_params: float, tokens: float) -> float:
    """6 x parameters x tokens: forward (2N) and backward (4N) per token; attention FLOPs left out."""
    return 6 * n_params * tokens


def gpu_hours(flops: float, gpu: GPU, mfu: float) -> float:
    return flops / (gpu.peak_bf16_flops * mfu) / 3600


# --- reading the recipes ------------------------------------------------------------------------------------------


def load_yaml(path: str) -> dict:
    import yaml

    return yaml.safe_load((ROOT / path).read_text())


def _verified_rows(config) -> tuple[dict, float]:
    """({language: rows}, the share of them that parse) that a verified pipeline's recipe asks about."""
    from dataset_builder.stages.tests import ASSUMED_PARSE_RATE

    if config.pipeline == "verify":
        if config.verify_max_rows is None:
            raise ValueError(
                "a verify recipe asks for tests once per row of verify_dataset: set verify_max_rows to estimate it"
            )
        total = sum(config.languages.values())
        return {lang: config.verify_max_rows * n / total for lang, n in config.languages.items()}, 1.0
    return config.languages, ASSUMED_PARSE_RATE


def tests_requests(config) -> dict:
    """The test-writing requests of a verified pipeline's recipe: requests, prompt and completion tokens."""
    from dataset_builder.stages.tests import assumed_estimate

    if config.pipeline not in VERIFIED_PIPELINES:
        return {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0}
    est = assumed_estimate(config, *_verified_rows(config))
    return {key: est[key] for key in ("requests", "prompt_tokens", "completion_tokens")}


def solutions_requests(config) -> dict:
    """The extra solutions of a verified recipe with solutions_per_problem > 1 (N-1 per row with a test harness)."""
    from dataset_builder.stages.solutions import assumed_estimate

    if config.pipeline not in VERIFIED_PIPELINES or config.solutions_per_problem == 1:
        return {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0}
    est = assumed_estimate(config, *_verified_rows(config))
    return {key: est[key] for key in ("requests", "prompt_tokens", "completion_tokens")}


def teacher(recipe: str = OSS_RECIPE) -> dict:
    """Requests, tokens and dollars of the OSS-Instruct build, through the builder's own loader, prompt and prices;
    with a verified pipeline, the test-writing requests too (`tests`, included in the totals), and with several
    solutions per problem the extra solution requests (`solutions`, included too)."""
    from dataset_builder.cli import parse_config
    from dataset_builder.prompts import messages
    from dataset_builder.teacher.base import estimate_tokens
    from dataset_builder.teacher.pricing import Prices

    config = parse_config(["--config", str(ROOT / recipe)])
    requests = 0 if config.pipeline == "verify" else sum(config.languages.values())
    seed_lines = (config.min_lines + config.max_lines) / 2
    seed = "x" * round(seed_lines * SEED_CHARS_PER_LINE)
    tests, solutions = tests_requests(config), solutions_requests(config)
    prompt_tokens = requests * estimate_tokens(messages(seed)) + tests["prompt_tokens"] + solutions["prompt_tokens"]
    completion_tokens = (
        requests * config.expected_completion_tokens + tests["completion_tokens"] + solutions["completion_tokens"]
    )
    dollars = {}
    for mode, batch in (("live", False), ("batch", True)):
        prices = Prices(config.teacher_model, config.price_input_per_million, config.price_output_per_million, batch)
        dollars[mode] = prices.cost(prompt_tokens, completion_tokens)
    return {
        "model": config.teacher_model,
        "requests": requests,
        "seed_chars": len(seed),
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "completion_tokens_per_row": config.expected_completion_tokens,
        "tests": tests,
        "solutions": solutions,
        "recipe": recipe,
        "dollars": dollars,
    }


def stage(folder: str, number: int) -> dict:
    """Training tokens of one stage from its recipe. Its config class (TRL's SFTConfig) checks the machine when built
    (bf16 needs a GPU), so the recipe is read as YAML; tests/test_runbooks_paper.py checks the values agree."""
    recipe = load_yaml(f"{folder}/{STAGE_RECIPES[number]}")
    rows = PAPER_ROWS[number]
    mean = min(PAPER_TRAINING_TOKENS[number] / (rows * PAPER_EPOCHS), recipe["max_length"])
    tokens = rows * recipe["num_train_epochs"] * mean
    share = 1.0 if recipe.get("packing") else PADDED_REAL_TOKEN_SHARE
    return {
        "stage": number,
        "rows": rows,
        "epochs": recipe["num_train_epochs"],
        "mean_tokens_per_row": mean,
        "tokens": tokens,
        "computed_tokens": tokens / share,
        "micro_batch_tokens": recipe["per_device_train_batch_size"] * recipe["max_length"],
    }


def training_memory_gib(shape: Shape, micro_batch_tokens: int, num_gpus: int) -> dict:
    """Peak memory per GPU of bf16 full fine-tuning with Adafactor: plain DDP, and ZeRO-3 over num_gpus."""
    n = params(shape)
    per_value = ACTIVATION_VALUES_PER_TOKEN_LAYER[0] * shape.hidden + ACTIVATION_VALUES_PER_TOKEN_LAYER[1] * (
        shape.intermediate
    )
    activations = micro_batch_tokens * shape.layers * per_value * ACTIVATION_BYTES
    activations += micro_batch_tokens * shape.vocab * LOGIT_BYTES
    states = n * (WEIGHT_BYTES + GRAD_BYTES) + adafactor_state_values(shape) * ADAFACTOR_STATE_BYTES
    gib = 2**30
    return {
        "weights_grads_optimizer": states / gib,
        "optimizer": adafactor_state_values(shape) * ADAFACTOR_STATE_BYTES / gib,
        "activations": activations / gib,
        "ddp": (states + n * DDP_BUCKET_BYTES + activations) / gib + OVERHEAD_GIB,
        "zero3": (states / num_gpus + activations) / gib + OVERHEAD_GIB,
    }


def eval_cost(shape: Shape, gpu: GPU, recipe: str = EVAL_RECIPE) -> dict:
    """Generation of the EvalPlus recipe's benchmarks: an upper bound (every completion runs to max_new_tokens)."""
    config = load_yaml(recipe)
    problems = sum(EVAL_PROBLEMS[name] for name in config["benchmarks"])
    tokens = problems * config["max_new_tokens"] * config["n_samples"]
    weight_bytes = params(shape) * WEIGHT_BYTES
    tokens_per_s = gpu.bandwidth * DECODE_BANDWIDTH_EFFICIENCY / weight_bytes * config["batch_size"]
    kv_bytes = 2 * shape.layers * shape.kv_heads * (shape.hidden // shape.heads) * WEIGHT_BYTES
    memory = weight_bytes + kv_bytes * config["batch_size"] * (EVAL_PROMPT_TOKENS + config["max_new_tokens"])
    return {
        "problems": problems,
        "max_tokens": tokens,
        "tokens_per_s": tokens_per_s,
        "gpu_minutes": tokens / tokens_per_s / 60,
        "memory_gib": memory / 2**30 + OVERHEAD_GIB,
    }


def estimate(gpu: GPU, mfu: float, num_gpus: int = PAPER_GPUS, oss_recipe: str = OSS_RECIPE) -> dict:
    """Everything, for the four models; the teacher's cost from `oss_recipe` (e.g. the verified build's)."""
    if not 0 < mfu <= 1:
        raise ValueError(f"MFU must be in (0, 1], got {mfu}: e.g. --mfu 0.43")
    if num_gpus < 1:
        raise ValueError(f"--num-gpus must be at least 1, got {num_gpus}")
    models = {}
    for name, (folder, stages) in MODELS.items():
        base = load_yaml(f"{folder}/{STAGE_RECIPES[1]}")["model_name_or_path"]
        if base not in SHAPES:
            raise ValueError(f"{folder}: no shape for base model {base!r}; add it to SHAPES in {Path(__file__).name}")
        shape = SHAPES[base]
        n = params(shape)
        rows = []
        for number in stages:
            s = stage(folder, number)
            s["flops"] = training_flops(n, s["computed_tokens"])
            s["gpu_hours"] = gpu_hours(s["flops"], gpu, mfu)
            s["memory"] = training_memory_gib(shape, s["micro_batch_tokens"], num_gpus)
            rows.append(s)
        models[name] = {"base": base, "params": n, "stages": rows, "eval": eval_cost(shape, gpu)}
    return {"gpu": gpu, "mfu": mfu, "num_gpus": num_gpus, "teacher": teacher(oss_recipe), "models": models}
