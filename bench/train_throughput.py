"""Benchmark: training throughput (tokens/s per GPU) and MFU of the paper's profile against the fast profile.

A randomly initialised Llama of realistic shape (`--model-size`: 1.3b, or 7b = CodeLlama-7B's shape; no weights are
downloaded) is trained by `SFTTrainer` for `--steps` optimizer steps on synthetic pre-tokenized rows with an
OSS-Instruct-like length mix (lognormal, median 450 tokens, cut at max_length 1216; see bench/padding_waste.py),
Adafactor, bf16, no clipping, as in the recipes:

  paper  padded batches of 2 rows per device, no packing, SDPA attention, no gradient checkpointing
  fast   packing (bfd) + padding-free batches of 8 packs per device, FlashAttention 2 (the flash-attn package, or the
         kernels-community/flash-attn2 Hub kernel through `kernels`), Liger kernels if installed, gradient
         checkpointing

Tokens/s counts real (non-pad) tokens, averaged over the steps after `--warmup-steps`, divided by the number of
processes. MFU = 6 x parameters x tokens/s / peak FLOP/s (`--peak-tflops`, default 989: H100 SXM bf16 dense); the
6N rule counts no attention FLOPs, so it understates MFU a little at this length.

Anchor: full fine-tuning of a 7B model on H100s reaches ~10K tokens/s per GPU, ~43% MFU (6 x 6.7e9 x 1e4 / 989e12
= 41%). Gradient checkpointing recomputes the forward pass (8N FLOPs/token really spent, 6N counted), so the fast
profile's MFU by this formula is a lower bound of the hardware's.

    python -m bench.train_throughput [--model-size 1.3b|7b] [--profile paper fast] [--steps 20] [--peak-tflops 989]
    accelerate launch --config_file recipes/accelerate_configs/ddp.yaml -m bench.train_throughput --model-size 7b
    python -m bench.train_throughput --smoke     # CPU: a tiny model, 2 steps, both profiles (for the tests)

Every bench runs from the repository root as a module (`python -m bench.NAME`): they import `tests.helpers`.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

SHAPES = {  # Llama shapes: hidden, intermediate, layers, heads, kv heads, vocab
    "tiny": (64, 128, 2, 4, 2, 1000),
    "1.3b": (2048, 5504, 24, 16, 16, 32016),
    "7b": (4096, 11008, 32, 32, 32, 32016),  # CodeLlama-7b-Python-hf
}
PROFILES = {
    "paper": {"per_device": 2, "packing": False, "attn": "sdpa", "liger": False, "checkpointing": False},
    "fast": {"per_device": 8, "packing": True, "attn": "flash_attention_2", "liger": True, "checkpointing": True},
}


def llama_config(size: str, max_length: int):
    from transformers import LlamaConfig

    hidden, intermediate, layers, heads, kv_heads, vocab = SHAPES[size]
    return LlamaConfig(
        vocab_size=vocab,
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=max(4096, max_length),
        rope_theta=1_000_000.0,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        tie_word_embeddings=False,
    )


def build_model(config, attn: str, smoke: bool):
    import torch
    from transformers import AutoModelForCausalLM

    dtype = torch.float32 if smoke else torch.bfloat16
    device = "cpu" if smoke else "cuda"
    with torch.device(device):
        return AutoModelForCausalLM.from_config(config, attn_implementation=attn, dtype=dtype)


class StepTimer:
    """A TrainerCallback recording (time, tokens seen) at the end of every optimizer step."""

    def __init__(self):
        from transformers import TrainerCallback

        timer = self

        class _Callback(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                timer.sync()
                timer.marks.append((time.perf_counter(), state.num_input_tokens_seen))

        self.marks: list[tuple[float, int]] = []
        self.callback = _Callback()

    @staticmethod
    def sync():
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()


def run_profile(name: str, cli, config, tokenizer, rows, world_size: int) -> dict:
    import torch
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    profile = dict(PROFILES[name])
    notes = []
    if cli.smoke:
        profile.update(attn="sdpa", liger=False, per_device=2)
        notes.append("smoke: sdpa, no Liger")
    elif profile["attn"].startswith("flash") and not (
        importlib.util.find_spec("flash_attn") or importlib.util.find_spec("kernels")
    ):
        sys.exit("error: the fast profile needs `pip install flash-attn` or `pip install kernels` (FlashAttention).")
    if profile["liger"] and not importlib.util.find_spec("liger_kernel"):
        profile["liger"] = False
        notes.append("Liger not installed")

    model = build_model(config, profile["attn"], cli.smoke)
    params = sum(p.numel() for p in model.parameters())
    timer = StepTimer()
    args = SFTConfig(
        output_dir=tempfile.mkdtemp(prefix=f"throughput-{name}-"),
        max_steps=cli.steps,
        per_device_train_batch_size=profile["per_device"],
        gradient_accumulation_steps=1,
        learning_rate=5e-5,
        lr_scheduler_type="linear",
        warmup_steps=min(15, cli.steps),
        optim="adafactor",
        max_grad_norm=0.0,
        bf16=not cli.smoke,
        use_cpu=cli.smoke,
        max_length=cli.max_length,
        packing=profile["packing"],
        packing_strategy="bfd",
        padding_free=profile["packing"],
        use_liger_kernel=profile["liger"],
        gradient_checkpointing=profile["checkpointing"],
        completion_only_loss=True,
        include_num_input_tokens_seen="non_padding",
        logging_steps=max(1, cli.steps),
        save_strategy="no",
        report_to=[],
        dataloader_num_workers=0 if cli.smoke else 2,
        seed=976,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer = SFTTrainer(
            model=model,
            args=args,
            train_dataset=Dataset.from_dict(rows),
            processing_class=tokenizer,
            callbacks=[timer.callback],
        )
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    timer.sync()
    start = (time.perf_counter(), 0)
    trainer.train()
    marks = [start, *timer.marks]
    first = min(cli.warmup_steps, len(marks) - 2)
    (t0, n0), (t1, n1) = marks[first], marks[-1]
    tokens_per_s = (n1 - n0) / (t1 - t0) / world_size
    result = {
        "profile": name,
        "model_size": cli.model_size,
        "parameters": params,
        "attn_implementation": profile["attn"],
        "liger": profile["liger"],
        "gradient_checkpointing": profile["checkpointing"],
        "per_device_batch": profile["per_device"],
        "packing": profile["packing"],
        "timed_steps": len(marks) - 1 - first,
        "step_s": (t1 - t0) / max(1, len(marks) - 1 - first),
        "tokens_per_s_per_gpu": tokens_per_s,
        "mfu": 6 * params * tokens_per_s / (cli.peak_tflops * 1e12),
        "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None,
        "notes": notes,
    }
    del trainer, model
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-size", choices=["1.3b", "7b"], default="1.3b", help="Llama shape, random weights")
    parser.add_argument("--profile", nargs="+", choices=sorted(PROFILES), default=["paper", "fast"])
    parser.add_argument("--steps", type=int, default=20, help="optimizer steps per profile")
    parser.add_argument("--warmup-steps", type=int, default=5, help="steps left out of the timing")
    parser.add_argument("--max-length", type=int, default=1216)
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="peak bf16 dense TFLOP/s of one GPU")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--smoke", action="store_true", help="CPU, tiny model, 2 steps: checks the script runs")
    cli = parser.parse_args(argv)
    if cli.smoke:
        cli.model_size, cli.steps, cli.warmup_steps, cli.max_length = "tiny", 2, 0, 256
    import datasets
    import torch
    import transformers
    from transformers import AutoTokenizer

    from bench.padding_waste import make_rows
    from tests.helpers.tiny_model import build_tiny_model

    if not cli.smoke and not torch.cuda.is_available():
        sys.exit("error: no CUDA GPU; run with --smoke for the CPU check.")
    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    warnings.filterwarnings("ignore", category=FutureWarning)  # transformers 5: gradient_checkpointing's new name
    world_size = int(os.environ.get("WORLD_SIZE", "1"))  # set by accelerate launch / torchrun
    # Only the tokenizer's pad/EOS matter: the rows are pre-tokenized with ids >= 10 (never the pad id 0).
    tokenizer = AutoTokenizer.from_pretrained(build_tiny_model(Path(tempfile.mkdtemp()) / "tok"))
    config = llama_config(cli.model_size, cli.max_length)
    per_step = max(p["per_device"] for p in PROFILES.values()) * 3  # packs hold ~2.4 examples
    median = 100 if cli.smoke else 450
    rows = make_rows((cli.steps + 2) * per_step * world_size, median, 0.55, vocab=config.vocab_size, seed=0)

    results = [run_profile(name, cli, config, tokenizer, rows, world_size) for name in cli.profile]
    if int(os.environ.get("RANK", "0")) == 0:
        device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
        print(f"{cli.model_size} Llama ({results[0]['parameters'] / 1e9:.3g}B parameters), {device} x {world_size}")
        for r in results:
            memory = f", peak {r['peak_memory_gib']:.1f} GiB" if r["peak_memory_gib"] is not None else ""
            print(
                f"{r['profile']:>5}: {r['tokens_per_s_per_gpu']:,.0f} tokens/s/GPU, MFU {r['mfu']:.1%} "
                f"(peak {cli.peak_tflops:g} TFLOP/s), {r['step_s']:.2f} s/step over {r['timed_steps']} steps{memory}"
                + (f" [{'; '.join(r['notes'])}]" if r["notes"] else "")
            )
        if len(results) == 2:
            print(f"fast/paper: {results[1]['tokens_per_s_per_gpu'] / results[0]['tokens_per_s_per_gpu']:.2f}x")
        if cli.json:
            cli.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
