"""Models for the generation tests: the tiny test model with larger random weights, so that its greedy output depends
on the whole prompt (the default init just repeats the last token, which would hide padding bugs)."""

import shutil
from pathlib import Path

# what the generation tests ask, of mixed lengths
PROMPTS = [
    "def add",
    "Write a function that returns the sum of a list.",
    "class Stack: push and pop, with a test for each method and a docstring that explains the order of items",
    "for i in range(10): print(i * i)",
    "SELECT id FROM users",
]


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def varied_model(tiny: Path, path: Path) -> Path:
    """A copy of the tiny model at `tiny`, saved at `path` with weights initialised at range 0.5."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    shutil.copytree(tiny, path)
    config = AutoConfig.from_pretrained(tiny)
    config.initializer_range = 0.5
    torch.manual_seed(1)
    AutoModelForCausalLM.from_config(config, dtype=torch.float32).save_pretrained(path)
    return path
