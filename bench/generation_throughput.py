"""Benchmark: generation throughput of the transformers backend, batched (left-padded) against one prompt at a time.

The same `--prompts` chat prompts of mixed lengths (coding instructions, 10-120 words) go through
`oss_generate.hf.TransformersBackend.generate`, greedy, `--max-new-tokens` each, at every batch size of
`--batch-sizes` (default 1, 8 and 32) in one run. Tokens/s counts generated tokens (up to and including EOS) over
wall time; a warm-up call runs first. The model is a randomly initialised Llama (hidden 256, 4 layers, the tokenizer
of tests/helpers/tiny_model.py) built in a temporary folder, or a real model folder with `--model PATH`. A random
model rarely emits EOS, so every prompt generates about max_new_tokens tokens: the batch sizes do the same work.

    python -m bench.generation_throughput [--model PATH] [--prompts 32] [--max-new-tokens 128] [--batch-sizes 1 8 32]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

WORDS = "write a function that returns the sum of the squares of a list of integers in python and test it".split()


def build_model(path: Path) -> Path:
    """A random Llama of hidden 256 and 4 layers with the tiny test model's tokenizer."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from tests.helpers.tiny_model import build_tiny_model

    build_tiny_model(path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=256,
        intermediate_size=688,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).to(torch.float32).save_pretrained(path)
    return path


def make_prompts(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 120))) for _ in range(count)]


def run(backend, prompts: list[str], batch_size: int, max_new_tokens: int) -> dict:
    from oss_generate import Request, SamplingParams

    params = SamplingParams(max_new_tokens=max_new_tokens)
    requests = [Request([{"role": "user", "content": p}], id=str(i)) for i, p in enumerate(prompts)]
    backend.usage["completion_tokens"] = 0
    started = time.perf_counter()
    for start in range(0, len(requests), batch_size):
        backend.generate(requests[start : start + batch_size], params)
    seconds = time.perf_counter() - started
    tokens = backend.usage["completion_tokens"]
    return {"batch_size": batch_size, "tokens": tokens, "seconds": seconds, "tokens_per_s": tokens / seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a model folder (default: a random Llama, hidden 256, 4 layers)")
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32")
    cli = parser.parse_args(argv)
    import torch

    from oss_generate.hf import TransformersBackend

    with tempfile.TemporaryDirectory() as tmp:
        model = cli.model or str(build_model(Path(tmp) / "model"))
        with TransformersBackend(model, device=cli.device, dtype=cli.dtype) as backend:
            prompts = make_prompts(cli.prompts)
            run(backend, prompts[:2], 2, 4)  # warm-up
            print(
                f"model: {cli.model or 'random Llama (hidden 256, 4 layers)'}, {cli.prompts} prompts, greedy, "
                f"max_new_tokens {cli.max_new_tokens}, {cli.device} ({torch.get_num_threads()} threads), {cli.dtype}"
            )
            results = [run(backend, prompts, size, cli.max_new_tokens) for size in cli.batch_sizes]
    for r in results:
        print(
            f"batch {r['batch_size']}: {r['tokens_per_s']:.1f} tokens/s ({r['tokens']} tokens in {r['seconds']:.2f} s)"
        )
    base = results[0]
    for r in results[1:]:
        ratio = r["tokens_per_s"] / base["tokens_per_s"]
        print(f"ratio batch {r['batch_size']} / batch {base['batch_size']}: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
