"""Benchmark: how much of each optimizer step is real tokens, padded (the paper) against packed (the fast profile).

Rows: `--rows` pre-tokenized examples with an OSS-Instruct-like length mix. The length of a whole training example
(template + problem + solution + EOS) is lognormal with median `--median` (450) tokens and shape `--sigma` (0.55),
which puts ~10% of rows past 900 tokens and ~3.5% past max_length (cut there, as training does); the prompt takes
30-50% of each example, the response (which carries the loss) the rest. This is an assumed shape in the spirit of the
paper's Figure 7, not a fit to the released data. Token ids are random: only lengths matter here.

Both profiles go through TRL's real data path: `SFTTrainer` prepares the dataset (truncation to max_length; for
packing, best-fit-decreasing packs) and its own collator builds the batches of `trainer.get_train_dataloader()`.
Per optimizer step (global batch `--global-batch` rows or packs, one process):

  padded  per_device_train_batch_size 2, each micro-batch padded to its longest row (the paper's setup)
  packed  packing=True, packing_strategy=bfd, padding_free (TRL forces it for bfd), per_device 8 packs

Printed: the share of real tokens in what the model computes on (padding-free packs carry no pad at all), how full
rows are against max_length (what a pack padded to max_length would waste), real and loss tokens and examples per
optimizer step, and optimizer steps per epoch; the last line compares the two (the fast recipes' global batch of 256
packs comes from it).

    python -m bench.padding_waste [--rows 20000] [--max-length 1216] [--global-batch 512]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
import warnings
from pathlib import Path

TEMPLATE_TOKENS = 40  # the Magicoder system line + "@@ Instruction" / "@@ Response" headers


def make_rows(n: int, median: float, sigma: float, vocab: int, seed: int) -> dict[str, list]:
    """`input_ids` + `completion_mask` columns (TRL's pre-tokenized prompt/completion form)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    lengths = np.maximum(rng.lognormal(math.log(median), sigma, n).round().astype(int), TEMPLATE_TOKENS + 8)
    prompt_share = rng.uniform(0.3, 0.5, n)
    input_ids, completion_mask = [], []
    for length, share in zip(lengths, prompt_share, strict=True):
        prompt = TEMPLATE_TOKENS + int((length - TEMPLATE_TOKENS) * share)
        input_ids.append(rng.integers(10, vocab, length).tolist())
        completion_mask.append([0] * prompt + [1] * (length - prompt))
    return {"input_ids": input_ids, "completion_mask": completion_mask}


def measure(model_dir: Path, rows: dict, *, packing: bool, per_device: int, global_batch: int, max_length: int):
    """Walk one epoch of the trainer's dataloader; count real and computed tokens per optimizer step."""
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    accumulation = max(1, global_batch // per_device)
    args = SFTConfig(
        output_dir=tempfile.mkdtemp(prefix="padding-waste-"),
        use_cpu=True,
        bf16=False,
        gradient_checkpointing=False,
        per_device_train_batch_size=per_device,
        gradient_accumulation_steps=accumulation,
        max_length=max_length,
        packing=packing,
        packing_strategy="bfd",
        completion_only_loss=True,
        dataloader_drop_last=False,
        report_to=[],
        seed=976,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer = SFTTrainer(
            model=str(model_dir),
            args=args,
            train_dataset=Dataset.from_dict(rows),
            processing_class=AutoTokenizer.from_pretrained(model_dir),
        )
    prepared = trainer.train_dataset
    lengths = [len(ids) for ids in prepared["input_ids"]]
    examples = sum(len(s) for s in prepared["seq_lengths"]) if packing else len(prepared)  # packs hold several
    steps, micro = [], []
    for batch in trainer.get_train_dataloader():
        if "attention_mask" in batch:
            real = int(batch["attention_mask"].sum())
        else:  # padding-free: one flattened row; positions restart at 0 for every example
            real = int(batch["input_ids"].numel())
        micro.append(
            (real, int(batch["input_ids"].numel()), int((batch["labels"] != -100).sum()), len(batch["input_ids"]))
        )
        if len(micro) == accumulation:
            steps.append(micro)
            micro = []
    if micro:
        steps.append(micro)
    real = [sum(m[0] for m in s) for s in steps]
    computed = [sum(m[1] for m in s) for s in steps]
    shares = [r / c for r, c in zip(real, computed, strict=True)]
    full = steps[:-1] if len(steps) > 1 else steps  # the last step of an epoch is usually partial
    return {
        "rows": len(prepared),
        "examples": examples,
        "steps": len(steps),
        "share_mean": sum(shares) / len(shares),
        "share_min": min(shares),
        "share_overall": sum(real) / sum(computed),
        "real_per_step": sum(sum(m[0] for m in s) for s in full) / len(full),
        "loss_tokens_per_step": sum(sum(m[2] for m in s) for s in full) / len(full),
        "examples_per_row": examples / len(prepared),
        "fill": sum(lengths) / (len(lengths) * max_length),  # of a row padded to max_length
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000, help="synthetic examples (OSS-Instruct has ~75K)")
    parser.add_argument("--median", type=float, default=450.0, help="median tokens per example")
    parser.add_argument("--sigma", type=float, default=0.55, help="lognormal shape of the example length")
    parser.add_argument("--max-length", type=int, default=1216, help="truncation / pack length (stage 1: 1216)")
    parser.add_argument("--global-batch", type=int, default=512, help="rows (padded) or packs (packed) per step")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    import datasets
    import transformers

    from tests.helpers.tiny_model import build_tiny_model

    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    warnings.filterwarnings("ignore", category=FutureWarning)  # transformers 5: gradient_checkpointing's new name

    t0 = time.perf_counter()
    model_dir = build_tiny_model(Path(tempfile.mkdtemp(prefix="padding-waste-model-")) / "tiny")
    rows = make_rows(args.rows, args.median, args.sigma, vocab=900, seed=args.seed)
    lengths = sorted(len(r) for r in rows["input_ids"])
    truncated = sum(n > args.max_length for n in lengths)
    print(
        f"rows: {args.rows:,}, tokens per example lognormal(median {args.median:g}, sigma {args.sigma:g}): "
        f"median {lengths[len(lengths) // 2]}, mean {sum(lengths) / len(lengths):.0f}, "
        f"p90 {lengths[int(0.9 * len(lengths))]}, {truncated / len(lengths):.1%} cut at max_length {args.max_length}"
    )
    results = {}
    for name, packing, per_device in (("padded", False, 2), ("packed", True, 8)):
        r = measure(
            model_dir,
            rows,
            packing=packing,
            per_device=per_device,
            global_batch=args.global_batch,
            max_length=args.max_length,
        )
        results[name] = r
        print(
            f"{name}: {r['rows']:,} rows ({r['examples_per_row']:.2f} examples each), {r['steps']} optimizer steps of "
            f"{args.global_batch}; real tokens {r['share_overall']:.1%} of computed (per step mean "
            f"{r['share_mean']:.1%}, min {r['share_min']:.1%}); {r['real_per_step']:,.0f} real tokens and "
            f"{r['loss_tokens_per_step']:,.0f} loss tokens per step; rows fill {r['fill']:.1%} of max_length"
        )
    padded, packed = results["padded"], results["packed"]
    same_tokens = args.global_batch * padded["real_per_step"] / packed["real_per_step"]
    print(
        f"ratio: packed/padded real-token share {packed['share_overall'] / padded['share_overall']:.2f}x "
        f"({padded['share_overall']:.1%} -> {packed['share_overall']:.1%}); a global batch of {args.global_batch} "
        f"packs carries {packed['real_per_step'] / padded['real_per_step']:.2f}x the tokens of {args.global_batch} "
        f"padded rows: ~{same_tokens:.0f} packs per step match the paper's tokens per step "
        f"({time.perf_counter() - t0:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
