"""The harness's metric JSON (`--metric_output_path`) read back as pass@k fractions, with the settings it records."""

from __future__ import annotations

import json
import os
from pathlib import Path

from eval.bigcode_tasks import BIGCODE_TASKS


class HarnessError(RuntimeError):
    """The harness ran but failed or left no scores."""


def _harness_task(task: str) -> str:
    if task in BIGCODE_TASKS:
        tasks = list(BIGCODE_TASKS[task].harness_tasks)
        if len(tasks) != 1:
            raise ValueError(f"{task} has one metric file per harness task: parse {', '.join(tasks)} one by one")
        return tasks[0]
    return task


def normalize_scores(task: str, metrics: dict) -> dict[str, float]:
    """pass@k fractions from one task's metrics in the harness's shapes:
    MultiPL-E `{"pass@1": x, "pass@10": y}` (GeneralMultiPLE.process_results),
    DS-1000 `{"mean pass@1 accuracy (40 samples)": x}` (GeneralDS1000.process_results),
    APPS `{"avg_accuracy": a, "strict_accuracy": s, "pass_at_k": null | {"pass@1": x}}` (codeparrot/apps_metric)."""
    if task.startswith("apps-"):
        if metrics.get("pass_at_k"):
            return {k: float(v) for k, v in metrics["pass_at_k"].items()}
        if metrics.get("strict_accuracy") is None:
            raise HarnessError(f"{task}: no strict_accuracy or pass_at_k in the APPS metrics {sorted(metrics)}")
        return {"pass@1": float(metrics["strict_accuracy"])}
    scores = {k: float(v) for k, v in metrics.items() if k.startswith("pass@")}
    for key, value in metrics.items():
        if key.startswith("mean pass@1 accuracy"):
            scores["pass@1"] = float(value)
    if "pass@1" not in scores:
        raise HarnessError(f"{task}: no pass@1 in the harness metrics {sorted(metrics)}")
    return scores


def parse_metrics(path: str | os.PathLike, task_key: str) -> dict:
    """`{"scores": {"pass@1": ...}, "metrics": <the task's raw entry>, "config": <the run's arguments>}` from the
    harness's `--metric_output_path` file, `{<task>: {...}, "config": vars(args)}` (bigcode_eval main.main).
    `task_key` is a harness task or one of our keys that maps to a single one."""
    task = _harness_task(task_key)
    path = Path(path)
    if not path.is_file():
        raise HarnessError(f"no harness metrics at {path}")
    data = json.loads(path.read_text(encoding="utf-8"))
    if task not in data:
        found = [k for k in data if k != "config"]
        raise HarnessError(f"{path} has no scores for {task} (it has: {', '.join(found) or 'none'})")
    return {"scores": normalize_scores(task, data[task]), "metrics": data[task], "config": data.get("config", {})}


def same_settings(config: dict, settings: dict) -> bool:
    """Whether a metric file's `config` records these settings (all of them, by the harness's names)."""
    return all(config.get(name) == value for name, value in settings.items())
