"""Training data: OSS-Instruct or Evol-Instruct rows -> conversational prompt/completion pairs for TRL.

Either released schema is accepted: OSS-Instruct (`problem`, `solution`; the instruction becomes
`Write a solution to the following coding problem:\\n{problem}`) or Evol-Instruct (`instruction`, `response`, or
evol-codealpaca's `instruction`, `output`). The Magicoder chat template turns each pair into the paper's training
text, and TRL's `completion_only_loss` puts the loss on the response (and EOS) only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from oss_common.template import OSS_INSTRUCTION

FORMATS = {
    "oss_instruct": ("problem", "solution"),
    "evol_instruct": ("instruction", "response"),
    "evol_codealpaca": ("instruction", "output"),
}


class DataError(ValueError):
    """A dataset that cannot be trained on; the message names the problem and the fix."""


def detect_format(columns: list[str]) -> str:
    for name, needed in FORMATS.items():
        if set(needed) <= set(columns):
            return name
    raise DataError(
        f"The dataset has columns {sorted(columns)}; training needs `problem` + `solution` (OSS-Instruct) or "
        "`instruction` + `response`/`output` (Evol-Instruct). Rename the columns or pick another dataset."
    )


def to_prompt_completion(row: dict, fmt: str) -> dict:
    question, answer = (row[c] for c in FORMATS[fmt])
    instruction = OSS_INSTRUCTION.format(problem=question) if fmt == "oss_instruct" else question
    return {
        "prompt": [{"role": "user", "content": instruction}],
        "completion": [{"role": "assistant", "content": answer}],
    }


def load_one(name: str, config: str | None, split: str, revision: str | None):
    """A Hub dataset id (with revision), a `save_to_disk` folder, a Hub-layout folder, or a .jsonl/.parquet file;
    never a builder run folder, and never without rows."""
    from datasets import load_dataset, load_from_disk

    path = Path(os.path.expanduser(name))
    run = builder_run_folder(path)
    if run is not None:
        raise DataError(f"{name} is a run folder of the builder's {run_stage(run)} stage: {published_instead(run)}")
    if path.is_dir() and (path / "state.json").exists():
        dataset = load_from_disk(str(path))
    elif path.is_file():
        try:
            dataset = load_dataset(
                "parquet" if path.suffix == ".parquet" else "json", data_files=str(path), split="train"
            )
        except StopIteration:  # what `datasets` raises for a file without a row
            dataset = []
    else:
        try:
            dataset = load_dataset(name, config, split=split, revision=revision)
        except FileNotFoundError as err:
            raise DataError(
                f"Dataset {name!r} was not found as a local folder, a file or a Hub dataset: {err}"
            ) from err
    if len(dataset) == 0:
        raise DataError(f"{name} has no rows: train on a dataset with rows (a build that kept none publishes none).")
    return dataset


def builder_run_folder(path: Path) -> Path | None:
    """The builder's run folder (`OUTPUT_DIR/<stage>/<fingerprint>/`) that `path` is, or holds the rows of."""
    for folder in (path, path.parent) if path.name in ("dataset", "rejects") else (path,):
        if (folder / "stats.json").is_file() and (folder / "config.json").is_file():
            return folder.resolve()
    return None


def run_stage(run: Path) -> str:
    return json.loads((run / "config.json").read_text()).get("stage") or run.parent.name


def published_instead(run: Path) -> str:
    """Where the build that `run` is part of published its dataset, as advice: the `hub/` folder to train on."""
    for config in sorted(run.parents[1].glob("publish/*/config.json")):
        folder = config.parent
        while folder != run and (folder / "config.json").is_file():
            upstream = json.loads((folder / "config.json").read_text()).get("upstream")
            if not upstream:
                break
            folder = Path(upstream)
        if folder == run:
            hub = config.parent / "hub"
            if hub.is_dir():
                return f"train on the published dataset, {hub}"
            return f"its build kept no rows and published nothing (see {config.parent / 'stats.json'})"
    return (
        "train on a published dataset: finish the build (`python -m dataset_builder build --config RECIPE`) and "
        f"give its {run.parents[1] / 'publish' / '<fingerprint>' / 'hub'} folder"
    )


def prepare(dataset, num_proc: int | None = None):
    """Rows of either schema -> prompt/completion, every other column dropped."""
    fmt = detect_format(dataset.column_names)
    return dataset.map(
        to_prompt_completion,
        fn_kwargs={"fmt": fmt},
        remove_columns=dataset.column_names,
        num_proc=num_proc,
        desc=f"Magicoder prompt ({fmt})",
    )


def load_training_data(
    name: str, config: str | None, split: str, revision: str | None, mixture: dict, seed: int, num_proc=None
):
    """The training rows: one dataset, or a mixture {dataset: rows or fraction} shuffled together."""
    from datasets import concatenate_datasets

    if not mixture:
        return prepare(load_one(name, config, split, revision), num_proc)
    parts = []
    for source, amount in mixture.items():
        part = prepare(load_one(source, None, split, None), num_proc).shuffle(seed=seed)
        n = int(amount * len(part)) if isinstance(amount, float) and amount <= 1 else int(amount)
        if n > len(part):
            raise DataError(f"dataset_mixture asks {n} rows of {source!r}, which has {len(part)}.")
        parts.append(part.select(range(n)))
    return concatenate_datasets(parts).shuffle(seed=seed)
