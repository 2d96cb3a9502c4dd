"""The model card of a training run: `README.md` + `loss.png` in the output folder, ready for the Hub.

The YAML carries `base_model`, `datasets`, `license`, `tags`, `pipeline_tag` and an empty `model-index` (one entry
named after the model, `results: []`) that evaluation fills in later with `huggingface_hub.EvalResult`s. The body
gives the base model and data with their revisions (a dataset the builder published locally: its name, version and
build fingerprint), the hyperparameters that matter, the loss curve, the hardware and wall time, the training prompt
verbatim, intended use and limitations, and the Magicoder citation. A model trained on the quickstart's toy data says
so first.

Nothing local leaks: Hub ids are kept as they are, local paths are cut to their last part, and no token is read.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from oss_common.card import CITATION, NO_RESULTS_BULLET, TOY_MODEL_NOTICE
from oss_common.names import is_local, public_name
from oss_common.template import PROMPT

LOSS_PLOT = "loss.png"
BUILD_FILE = "build.json"  # beside the card of a dataset the builder published (`dataset_builder.hub_layout`)
TAGS = ["magicoder", "oss-instruct", "code", "trl", "sft"]
# The licences of the paper's bases; a base not listed here gets `other` (check its terms).
BASE_LICENSES = {
    "codellama/CodeLlama-7b-Python-hf": ("llama2", None),
    "deepseek-ai/deepseek-coder-6.7b-base": ("other", "deepseek"),
}


def _base_model(model_args) -> tuple[str | None, str | None]:
    """The Hub base model and its revision; for a local stage-1 folder, the base its own card names."""
    name = model_args.model_name_or_path
    if not is_local(name):
        return name, model_args.model_revision
    card = Path(name).expanduser() / "README.md"
    if card.exists():
        from huggingface_hub import ModelCard

        data = ModelCard.load(card).data
        base = data.get("base_model")
        return (base[0] if isinstance(base, list) else base), None
    return None, None


def _published(path: str) -> dict | None:
    """The `build.json` the dataset builder writes beside a published dataset's card; None for another folder."""
    build = Path(path).expanduser() / BUILD_FILE
    return json.loads(build.read_text()) if build.is_file() else None


def _datasets(script_args) -> list[dict]:
    """Every training dataset: `hub` (its Hub id; None when local), `line` (how the card names it) and `toy` (made
    with the local toy teacher, as its build says)."""
    if script_args.dataset_mixture:
        names = [(name, None) for name in script_args.dataset_mixture]
    else:
        names = [(script_args.dataset_name, script_args.dataset_revision)]
    datasets = []
    for name, revision in names:
        if not is_local(name):
            line = f"[{name}](https://huggingface.co/datasets/{name}) at revision `{revision or 'main'}`"
            datasets.append({"hub": name, "line": line, "toy": False})
        elif build := _published(name):
            line = f"`{build['name']}` version `{build['version']}`, build `{build['fingerprint']}` (a local build)"
            datasets.append({"hub": None, "line": line, "toy": bool(build.get("card", {}).get("toy_teacher"))})
        else:
            datasets.append({"hub": None, "line": f"`{public_name(name)}`", "toy": False})
    return datasets


def plot_loss(log_history: list[dict], path: Path) -> bool:
    """The training loss per optimizer step (and the learning rate), as a PNG. False when no loss was logged."""
    points = [(e["step"], e["loss"]) for e in log_history if "loss" in e and "step" in e]
    if not points:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    lines = ax.plot(*zip(*points, strict=True), color="tab:blue", label="training loss")
    ax.set_xlabel("optimizer step")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("loss")
    lrs = [(e["step"], e["learning_rate"]) for e in log_history if "learning_rate" in e and "step" in e]
    if lrs:
        twin = ax.twinx()
        lines += twin.plot(*zip(*lrs, strict=True), color="tab:gray", linestyle="--", label="learning rate")
        twin.set_ylabel("learning rate")
    ax.legend(handles=lines, loc="upper right")
    ax.grid(alpha=0.3)
    ax.set_title("Training loss")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def _peak_learning_rate(log_history: list[dict]) -> str:
    """The highest learning rate a logged step trained at, and the first step at it."""
    logged = [(e["learning_rate"], e["step"]) for e in log_history if "learning_rate" in e and "step" in e]
    if not logged:
        return "not logged"
    peak = max(lr for lr, _ in logged)
    return f"{peak:g} (step {min(step for lr, step in logged if lr == peak)})"


def _schedule(args, total_steps: int | None) -> str:
    """The scheduler and its warm-up in optimizer steps; a `warmup_steps` below 1 is a fraction of the run's steps."""
    schedule = _value(args.lr_scheduler_type)
    if args.warmup_steps >= 1 or not total_steps:
        return f"{schedule}, {args.warmup_steps:g} warmup step{'' if args.warmup_steps == 1 else 's'}"
    warmup = args.get_warmup_steps(total_steps)
    fraction = f"{args.warmup_steps:g} of {total_steps} steps"
    return f"{schedule}, {warmup} warmup step{'' if warmup == 1 else 's'} ({fraction})"


def hyperparameters(training_args, model_args, trainer_state: dict, num_processes: int) -> list[tuple[str, str]]:
    args = training_args
    per_step = args.per_device_train_batch_size * num_processes * args.gradient_accumulation_steps
    rows = [
        ("epochs", f"{args.num_train_epochs:g}"),
        ("optimizer steps", str(trainer_state.get("global_step", "?"))),
        ("learning rate", f"{args.learning_rate:g}"),
        ("learning rate reached", _peak_learning_rate(trainer_state.get("log_history") or [])),
        ("schedule", _schedule(args, trainer_state.get("max_steps"))),
        ("optimizer", _value(args.optim)),
        (
            "global batch",
            f"{per_step} = {args.per_device_train_batch_size} per device x {num_processes} processes x "
            f"{args.gradient_accumulation_steps} accumulation steps" + (" (packed sequences)" if args.packing else ""),
        ),
        ("max length", str(args.max_length)),
        ("precision", "bf16" if args.bf16 else "fp16" if args.fp16 else "fp32"),
        ("max grad norm", f"{args.max_grad_norm:g}" if args.max_grad_norm > 0 else "disabled (0)"),
        ("packing", f"{args.packing_strategy}" if args.packing else "no (padded batches)"),
        (
            "padding-free",
            "yes" if args.padding_free or (args.packing and args.packing_strategy != "wrapped") else "no",
        ),
        ("loss", "completion only (response + EOS)"),
        ("seed", str(args.seed)),
    ]
    if model_args.attn_implementation:
        rows.append(("attention", model_args.attn_implementation))
    if getattr(args, "use_liger_kernel", False):
        rows.append(("Liger kernels", "yes"))
    if args.gradient_checkpointing:
        rows.append(("gradient checkpointing", "yes"))
    if model_args.use_peft:
        quant = "bf16"
        if model_args.load_in_4bit:
            quant = f"4-bit {model_args.bnb_4bit_quant_type}"
        elif model_args.load_in_8bit:
            quant = "8-bit"
        lora = f"LoRA r={model_args.lora_r}, alpha={model_args.lora_alpha}, dropout={model_args.lora_dropout}"
        rows.append(("adapter", f"{lora}, targets {model_args.lora_target_modules}, base in {quant}"))
    return rows


def _value(x) -> str:
    return str(getattr(x, "value", x))


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min {rest % 60:02d} s"


def final_loss(log_history: list[dict]) -> float | None:
    losses = [e["loss"] for e in log_history if "loss" in e]
    return losses[-1] if losses and math.isfinite(losses[-1]) else None


def collect_hardware(num_processes: int) -> dict:
    """The `hardware` argument of `write_model_card`, as seen from this process."""
    import platform

    import torch

    if torch.cuda.is_available():
        names = sorted({torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())})
        per_node = torch.cuda.device_count()
    else:
        names, per_node = [f"CPU ({platform.machine()})"], 0
    return {"device_names": names, "devices_per_node": per_node, "num_processes": num_processes}


def render(script_args, training_args, model_args, trainer_state, hardware, elapsed_s, has_plot):
    from huggingface_hub import ModelCard, ModelCardData

    name = Path(training_args.hub_model_id or training_args.output_dir).name
    base, base_revision = _base_model(model_args)
    datasets = _datasets(script_args)
    license_, license_name = BASE_LICENSES.get(base, ("other", None))
    card_data = ModelCardData(
        model_name=name,
        base_model=base,
        datasets=[d["hub"] for d in datasets if d["hub"]] or None,
        license=license_,
        license_name=license_name,
        language=["code"],
        library_name="peft" if model_args.use_peft else "transformers",
        pipeline_tag="text-generation",
        tags=TAGS,
        eval_results=[],  # model-index: [{name, results: []}]; evaluation appends EvalResults
    )
    num_processes = hardware.get("num_processes", 1)
    log_history = trainer_state.get("log_history", [])
    start = model_args.model_name_or_path
    if is_local(start):
        start_line = f"- Started from the local checkpoint `{public_name(start)}`"
        if base:
            start_line += f", itself fine-tuned from [{base}](https://huggingface.co/{base})"
    else:
        start_line = f"- Base model: [{base}](https://huggingface.co/{base}) at revision `{base_revision or 'main'}`"
    data_lines = [f"- Training data: {d['line']}" for d in datasets]
    if script_args.dataset_mixture:
        data_lines.append(f"- Mixture (rows or fractions): {dict(script_args.dataset_mixture)}")
    table = "\n".join(
        f"| {k} | {v} |" for k, v in hyperparameters(training_args, model_args, trainer_state, num_processes)
    )
    loss = final_loss(log_history)
    devices = ", ".join(hardware.get("device_names", [])) or "unknown"
    per_node = hardware.get("devices_per_node")
    notice = f"\n{TOY_MODEL_NOTICE}\n" if any(d["toy"] for d in datasets) else ""
    body = f"""{notice}
# {name}

A [Magicoder](https://arxiv.org/abs/2312.02120)-style code model: fine-tuned with TRL's `SFTTrainer` on
instruction/response pairs made with **OSS-Instruct** (and, for the MagicoderS stage, Evol-Instruct).

## Training

{start_line}
{chr(10).join(data_lines)}

| setting | value |
|---|---|
{table}

{f"![Training loss]({LOSS_PLOT})" if has_plot else "No training loss was logged."}
{f"{chr(10)}Final logged training loss: {loss:.4f}." if loss is not None else ""}

### Hardware

- Devices: {devices}{f" ({per_node} per node)" if per_node else ""}
- Processes: {num_processes}
- Wall time: {_duration(elapsed_s)}

## Prompt

The model was trained on, and expects, this prompt (the tokenizer's chat template renders it; `{{response}}` is empty
at inference and the model writes the response, ending with EOS):

```text
{PROMPT}
```

## Intended use and limitations

- Intended for research on code generation and instruction tuning: writing and explaining code from a natural
  language instruction, mostly in Python and the other languages of the training data.
- Generated code can be wrong, insecure or licence-encumbered: review and test it before use, and run it in a sandbox.
- The training data were written by an LLM teacher from snippets of open-source code; they carry the teacher's
  mistakes and biases. Decontamination removed exact benchmark substrings only; paraphrases may remain.
{NO_RESULTS_BULLET}: the `model-index` in the metadata is left empty for them.

## Citation

```bibtex
{CITATION}
```
"""
    return ModelCard(f"---\n{card_data.to_yaml()}\n---\n{body}")


def write_model_card(
    output_dir, script_args, training_args, model_args, trainer_state: dict, hardware: dict, elapsed_s: float
) -> Path:
    """Write `README.md` (and `loss.png` when a loss was logged) into output_dir; return the card's path."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    has_plot = plot_loss(trainer_state.get("log_history", []), output_dir / LOSS_PLOT)
    card = render(script_args, training_args, model_args, trainer_state, hardware, elapsed_s, has_plot)
    path = output_dir / "README.md"
    path.write_text(str(card) + "\n", encoding="utf-8")
    return path
