"""What reproducing the four paper models costs, computed from the recipes the runbooks run.

    python -m oss_runbooks.estimate [--gpu a100-80gb|h100] [--mfu 0.43] [--num-gpus 2] [--markdown]

Prints the cost model of `oss_runbooks.costs` as text, or as the Markdown table the README quotes, with the
assumptions behind it.
"""

from __future__ import annotations

import argparse
import sys

from oss_runbooks.costs import (
    DECODE_BANDWIDTH_EFFICIENCY,
    DEFAULT_MFU,
    GPU,
    GPUS,
    OSS_RECIPE,
    OVERHEAD_GIB,
    PADDED_REAL_TOKEN_SHARE,
    PAPER_EPOCHS,
    PAPER_GPUS,
    PAPER_ROWS,
    PAPER_TRAINING_TOKENS,
    SEED_CHARS_PER_LINE,
    estimate,
)


def _si(x: float) -> str:
    for unit, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if x >= scale:
            return f"{x / scale:.3g}{unit}"
    return f"{x:.3g}"


def _flops(x: float) -> str:
    mantissa, exponent = f"{x:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _hours(h: float) -> str:
    return f"{h * 60:.0f} min" if h < 1 else f"{h:.1f} h"


def _dollars(x: float | None) -> str:
    return "unknown (no price for this teacher)" if x is None else f"${x:,.0f}"


def _fits(memory: dict, gpu: GPU, num_gpus: int) -> str:
    if memory["ddp"] <= gpu.memory_gib:
        return f"{memory['ddp']:.0f} GiB/GPU with DDP: fits"
    verdict = "fits" if memory["zero3"] <= gpu.memory_gib else "does not fit: add GPUs or gradient checkpointing"
    return (
        f"{memory['ddp']:.0f} GiB/GPU with DDP: too much; ZeRO-3 over {num_gpus}: {memory['zero3']:.0f} GiB, {verdict}"
    )


def summary_rows(result: dict) -> list[list[str]]:
    gpu, num_gpus = result["gpu"], result["num_gpus"]
    rows = []
    for name, model in result["models"].items():
        stages = model["stages"]
        hours = sum(s["gpu_hours"] for s in stages)
        peak = max(stages, key=lambda s: s["memory"]["ddp"])["memory"]
        rows.append(
            [
                name,
                " + ".join(str(s["stage"]) for s in stages),
                " + ".join(_si(s["tokens"]) for s in stages),
                _flops(sum(s["flops"] for s in stages)),
                f"{hours:.1f}",
                _hours(hours / num_gpus),
                f"≤ {model['eval']['gpu_minutes']:.0f} min",
                _fits(peak, gpu, num_gpus),
            ]
        )
    return rows


def header(result: dict) -> list[str]:
    gpu, num_gpus = result["gpu"], result["num_gpus"]
    return [
        "model",
        "stages",
        "training tokens",
        "training FLOPs",
        f"{gpu.name} GPU-hours (MFU {result['mfu']:.0%})",
        f"wall time on {num_gpus} GPUs",
        "eval (HumanEval+, MBPP+), 1 GPU",
        "training memory",
    ]


def teacher_line(t: dict) -> str:
    tests, solutions = t.get("tests") or {}, t.get("solutions") or {}
    asked = f" + {tests['requests']:,} test-writing requests" if tests.get("requests") else ""
    asked += f" + {solutions['requests']:,} more solutions" if solutions.get("requests") else ""
    data = "Verified OSS-Instruct data" if tests.get("requests") else "OSS-Instruct data"
    return (
        f"{data} ({t['recipe']}; built once, shared by the models trained on it): {t['requests']:,} "
        f"requests{asked} to {t['model']}, "
        f"~{_si(t['prompt_tokens'])} prompt + ~{_si(t['completion_tokens'])} completion tokens: "
        f"~{_dollars(t['dollars']['live'])} live, ~{_dollars(t['dollars']['batch'])} with the Batch API. "
        "Evol-Instruct: no teacher. The data steps need no GPU (the teacher is an API, seeds stream from the Hub, "
        "decontamination runs on CPU); MagicoderS rows include stage 1, which they share with Magicoder."
    )


def assumptions(result: dict) -> list[str]:
    from dataset_builder.teacher.base import CHARS_PER_TOKEN

    t, model = result["teacher"], next(iter(result["models"].values()))
    stage1, evaluation = model["stages"][0], model["eval"]
    teacher_text = (
        f"Teacher prompt: the paper's prompt around a mean seed of {t['seed_chars']} characters "
        f"({SEED_CHARS_PER_LINE} per line, measured on the bundled corpus) at the builder's {CHARS_PER_TOKEN} "
        f"characters per token; {t['completion_tokens_per_row']} completion tokens per row (the recipe's "
        "expected_completion_tokens). Prices: dataset_builder/teacher/pricing.py."
    )
    tokens_text = (
        f"Training tokens: the paper's ~75K / ~110K rows x epochs x {stage1['mean_tokens_per_row']:.0f} / "
        f"{PAPER_TRAINING_TOKENS[2] / (PAPER_ROWS[2] * PAPER_EPOCHS):.0f} tokens per row (the paper's Table 4: "
        "+90M and +240M training tokens for the DS models). FLOPs = 6 x parameters x tokens computed, padding "
        f"included (padded micro-batches are {PADDED_REAL_TOKEN_SHARE:.0%} real tokens, bench/padding_waste.py)."
    )
    hours_text = (
        f"GPU-hours = FLOPs / ({result['gpu'].peak_bf16_flops / 1e12:.0f} TFLOP/s bf16 dense x MFU "
        f"{result['mfu']:.0%}); {DEFAULT_MFU:.0%} is a reference point for 7B full fine-tuning on H100, "
        "not a measurement (bench/train_throughput.py measures yours; pass it as --mfu). Wall time assumes linear "
        "scaling over the GPUs."
    )
    memory_text = (
        "Training memory: bf16 weights and gradients, DDP's gradient buckets, Adafactor's factored state "
        f"(~{stage1['memory']['optimizer'] * 1024:.0f} MiB), activations of one micro-batch "
        f"({stage1['micro_batch_tokens']} tokens at stage 1) without gradient checkpointing, {OVERHEAD_GIB} GiB "
        "of overhead."
    )
    eval_text = (
        f"Eval: an upper bound, all {evaluation['problems']} completions running to max_new_tokens at batch size 1 "
        f"(~{evaluation['tokens_per_s']:.0f} tokens/s: {DECODE_BANDWIDTH_EFFICIENCY:.0%} of the memory-bandwidth "
        "bound, transformers backend); EvalPlus scoring runs on CPU. MultiPL-E, DS-1000 and APPS (bigcode harness) "
        "are not included."
    )
    return [teacher_text, tokens_text, hours_text, memory_text, eval_text]


def markdown(result: dict) -> str:
    head = header(result)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in summary_rows(result)]
    lines += ["", teacher_line(result["teacher"]), ""]
    lines += [f"- {line}" for line in assumptions(result)]
    return "\n".join(lines)


def text(result: dict) -> str:
    gpu, num_gpus = result["gpu"], result["num_gpus"]
    out = [teacher_line(result["teacher"]), ""]
    for name, model in result["models"].items():
        out.append(f"{name}: base {model['base']}, {model['params'] / 1e9:.3f}B parameters")
        for s in model["stages"]:
            m = s["memory"]
            out.append(
                f"  stage {s['stage']}: {s['rows']:,} rows x {s['epochs']} epochs x {s['mean_tokens_per_row']:.0f} "
                f"tokens = {_si(s['tokens'])} tokens ({_si(s['computed_tokens'])} computed with padding), "
                f"{_flops(s['flops'])} FLOPs, {s['gpu_hours']:.1f} {gpu.name} GPU-hours = "
                f"{_hours(s['gpu_hours'] / num_gpus)} on {num_gpus} GPUs"
            )
            out.append(
                f"           memory per GPU: weights + gradients + optimizer {m['weights_grads_optimizer']:.1f} GiB, "
                f"activations {m['activations']:.1f} GiB; {_fits(m, gpu, num_gpus)}"
            )
        e = model["eval"]
        out.append(
            f"  eval: {e['problems']} problems, at most {_si(e['max_tokens'])} generated tokens at "
            f"~{e['tokens_per_s']:.0f} tokens/s: <= {e['gpu_minutes']:.0f} GPU-minutes, one GPU with "
            f"{e['memory_gib']:.0f} GiB"
        )
        out.append("")
    out += ["Assumptions:"] + [f"- {line}" for line in assumptions(result)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gpu", choices=sorted(GPUS), default="a100-80gb", help="the paper used 2x A100-80GB")
    parser.add_argument("--mfu", type=float, default=DEFAULT_MFU, help="model FLOP utilisation (default: %(default)s)")
    parser.add_argument("--num-gpus", type=int, default=PAPER_GPUS, help="GPUs training in parallel (wall time)")
    parser.add_argument("--markdown", action="store_true", help="a Markdown table for the README")
    parser.add_argument(
        "--oss_recipe",
        default=OSS_RECIPE,
        help="the builder recipe whose teacher cost is shown (default: %(default)s; "
        "recipes/oss_instruct/magicoder_verified.yaml adds the test-writing requests)",
    )
    args = parser.parse_args(argv)
    try:
        result = estimate(GPUS[args.gpu], args.mfu, args.num_gpus, args.oss_recipe)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(markdown(result) if args.markdown else text(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
