"""Rows, the Magicoder prompt written out (REFERENCE.md §3) and the trainer train_sft.py builds, shared by the
training tests."""

import json
from pathlib import Path

from oss_common.template import CHAT_TEMPLATE
from oss_sft.data import prepare

# REFERENCE.md §3, verbatim (kept here, not imported from oss_common.template, so that a wrong template fails)
SYSTEM = (
    "You are an exceptionally intelligent coding assistant that consistently delivers accurate and reliable "
    "responses to user instructions."
)
OSS_INSTRUCTION = "Write a solution to the following coding problem:\n"

OSS_ROWS = [
    {
        "lang": "python",
        "problem": f"Write a function `add_{i}(x)` that returns x plus {i}.",
        "solution": f"def add_{i}(x):\n    return x + {i}\n",
    }
    for i in range(16)
]
EVOL_ROWS = [
    {"instruction": f"Multiply x by {i} in Python.", "response": f"def times_{i}(x):\n    return x * {i}\n"}
    for i in range(16)
]


def magicoder_prompt(instruction: str, response: str) -> str:
    return f"{SYSTEM}\n\n@@ Instruction\n{instruction}\n\n@@ Response\n{response}"


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def sft_trainer(model, output_dir, rows, **config):
    """The trainer train_sft.py builds: the Magicoder template on the tokenizer, prompt/completion rows, loss on
    the completion only."""
    import trl
    from datasets import Dataset
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model)
    tokenizer.chat_template = CHAT_TEMPLATE
    args = trl.SFTConfig(
        output_dir=str(output_dir),
        use_cpu=True,
        bf16=False,
        report_to="none",
        completion_only_loss=True,
        max_length=1216,
        **config,
    )
    return trl.SFTTrainer(
        model=str(model), args=args, train_dataset=prepare(Dataset.from_list(rows)), processing_class=tokenizer
    )
