"""The Hub's machine-readable scores of a run: `huggingface_hub.EvalResult`s for the card's `model-index` and
`.eval_results/<score key>.yaml` files. Only complete benchmarks are written: these are public numbers."""

from __future__ import annotations

from pathlib import Path

from eval.paper import BENCHMARKS
from eval.results import score_rows
from eval.table import bench_settings, decoding, harness_label

TASK_TYPE = "text-generation"
EVAL_RESULTS_DIR = ".eval_results"


def _revision(dataset: dict, dataset_id: str) -> str | None:
    """The dataset revision, when the run names the Hub dataset it loaded and that is the one scored against."""
    return dataset.get("revision") if dataset.get("id") == dataset_id else None


def eval_results(results: dict, *, source_url: str | None = None, source_name: str | None = None) -> list:
    """`huggingface_hub.EvalResult`s of the complete benchmarks (the card's `model-index`)."""
    from huggingface_hub import EvalResult

    out = []
    for row in score_rows(results):
        if not row.complete:
            continue
        bench = BENCHMARKS[row.key]
        out.append(
            EvalResult(
                task_type=TASK_TYPE,
                dataset_type=bench.dataset_id,
                dataset_name=bench.name,
                dataset_config=bench.config,
                dataset_revision=_revision(results["benchmarks"][row.benchmark].get("dataset", {}), bench.dataset_id),
                metric_type=row.metric,
                metric_name=row.metric,
                metric_value=row.value,
                source_name=source_name if source_url else None,
                source_url=source_url,
            )
        )
    return out


def eval_result_entries(results: dict, *, source_url: str | None = None, source_name: str | None = None) -> dict:
    """{score key: `huggingface_hub.EvalResultEntry`} of the complete benchmarks (the `.eval_results` files)."""
    from huggingface_hub import EvalResultEntry

    entries = {}
    for row in score_rows(results):
        if not row.complete:
            continue
        bench, run = BENCHMARKS[row.key], results["benchmarks"][row.benchmark]
        batch_size = bench_settings(results, row.benchmark).get("batch_size")
        notes = [decoding(results, row.benchmark)]
        if batch_size is not None:
            notes.append(f"batch size {batch_size}")
        notes.append(harness_label(results, row.benchmark))
        if run.get("dataset", {}).get("source"):
            notes.append(run["dataset"]["source"])
        entries[row.key] = EvalResultEntry(
            dataset_id=bench.dataset_id,
            task_id=bench.task_id,
            value=row.value,
            dataset_revision=_revision(run.get("dataset", {}), bench.dataset_id),
            date=results["date"][:10],
            source_url=source_url,
            source_name=source_name if source_url else None,
            notes=", ".join(notes),
        )
    return entries


def write_eval_results(model_dir, results: dict, *, source_url: str | None = None) -> list[Path]:
    """Write `.eval_results/<score key>.yaml` (one entry each) for the complete benchmarks; return the paths."""
    import yaml
    from huggingface_hub import eval_result_entries_to_yaml

    folder = Path(model_dir) / EVAL_RESULTS_DIR
    entries = eval_result_entries(results, source_url=source_url)
    if not entries:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for key, entry in entries.items():
        path = folder / f"{key}.yaml"
        path.write_text(yaml.safe_dump(eval_result_entries_to_yaml([entry]), sort_keys=False), encoding="utf-8")
        paths.append(path)
    return paths


def _result_key(result) -> tuple:
    return result.dataset_type, result.dataset_config, result.metric_type


def merge_eval_results(existing: list, new: list) -> list:
    """`existing` with each result for the same dataset (+config) and metric replaced by the new one, in place;
    new results for other benchmarks appended."""
    fresh = {_result_key(r): r for r in new}
    merged, placed = [], set()
    for result in existing:
        key = _result_key(result)
        if key in fresh:
            if key not in placed:
                merged.append(fresh[key])
                placed.add(key)
        else:
            merged.append(result)
    return merged + [r for r in new if _result_key(r) not in placed]
