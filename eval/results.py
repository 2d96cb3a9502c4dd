"""Evaluation results (`results.json`) to what people read: a markdown table beside the paper's numbers, the model
card's `model-index`, the Hub's `.eval_results/*.yaml`, and a push of those to the model repo.

Scores in `results.json` are fractions in [0, 1]; everything written here shows them as percentages with one decimal.
A benchmark with `"complete": false` (a `--limit`ed or interrupted run) is shown in the table, marked partial, and is
never written into the `model-index` or `.eval_results`: those are public numbers. Nothing is read from the
environment into a written file; the model's local path (`model.name_or_path`) is never written either.
"""

from __future__ import annotations

import json
import logging
import math
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from eval.paper import BENCHMARKS, PAPER, PAPER_URL, RESULT_KEYS
from oss_common.card import NO_RESULTS_BULLET

logger = logging.getLogger(__name__)

SCHEMA = 1
METRIC = "pass@1"
TASK_TYPE = "text-generation"
EVAL_RESULTS_DIR = ".eval_results"
SECTION = "## Evaluation"
PUSH_PATTERNS = ["README.md", f"{EVAL_RESULTS_DIR}/*"]
# The harness that scores each benchmark: (display name, key of its version in `results.json` "versions").
HARNESSES = {"humaneval": ("EvalPlus", "evalplus"), "mbpp": ("EvalPlus", "evalplus")}
BIGCODE = ("bigcode-evaluation-harness", "bigcode_eval")
# The limitation bullet `oss_sft/card.py` writes before any evaluation, and what replaces it once there is one.
RESULTS_BULLET = (
    "- The evaluation results below come from one run with the settings listed there; pass@1 moves with the batch "
    "size, the prompt and the benchmark's version, so compare numbers measured the same way."
)


class ResultsError(ValueError):
    """A results file (or dict) that cannot be read as evaluation results."""


class ScoreRow(NamedTuple):
    key: str  # score key: a benchmark of results.json, or `<benchmark>_plus`
    benchmark: str  # the benchmark of results.json the score belongs to
    name: str  # display name, e.g. "HumanEval+"
    metric: str
    value: float  # percent, one decimal
    complete: bool
    partial: str | None  # "partial: N of M tasks" for an incomplete benchmark


# --- reading -------------------------------------------------------------------------------------------------------


def load_results(path) -> dict:
    """Read and validate `results.json` (or the run folder holding it)."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    if not path.is_file():
        raise ResultsError(f"{path}: no such results file; run `python -m eval` first or pass the right path")
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ResultsError(f"{path}: not valid JSON ({e})") from e
    validate_results(results, source=str(path))
    return results


def _fraction(value, where: str, source: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ResultsError(f"{source}: {where} is {value!r}, not a number")
    if not 0 <= value <= 1:
        raise ResultsError(f"{source}: {where} is {value!r}; scores are fractions in [0, 1], not percentages")


def _need_dict(value, where: str, source: str) -> dict:
    if not isinstance(value, dict):
        raise ResultsError(f"{source}: {where} must be an object, got {type(value).__name__}")
    return value


def validate_results(results, source: str = "results") -> None:
    """Raise ResultsError naming `source` and the first thing that is wrong."""
    _need_dict(results, "the file", source)
    if results.get("schema") != SCHEMA:
        raise ResultsError(
            f"{source}: schema is {results.get('schema')!r}; this version reads schema {SCHEMA} "
            "(written by `python -m eval`)"
        )
    for key in ("date", "model", "settings", "benchmarks"):
        if key not in results:
            raise ResultsError(f"{source}: missing key {key!r}")
    try:
        datetime.fromisoformat(results["date"])
    except (TypeError, ValueError) as e:
        raise ResultsError(f"{source}: date {results['date']!r} is not an ISO-8601 date") from e
    model = _need_dict(results["model"], "model", source)
    if not isinstance(model.get("name"), str) or not model["name"]:
        raise ResultsError(f"{source}: model.name must be a non-empty string")
    _need_dict(results["settings"], "settings", source)
    _need_dict(results.get("versions", {}), "versions", source)
    benchmarks = _need_dict(results["benchmarks"], "benchmarks", source)
    if not benchmarks:
        raise ResultsError(f"{source}: benchmarks is empty; the run scored nothing")
    for key, bench in benchmarks.items():
        if key not in RESULT_KEYS:
            raise ResultsError(f"{source}: unknown benchmark {key!r}; known: {', '.join(RESULT_KEYS)}")
        where = f"benchmarks.{key}"
        _need_dict(bench, where, source)
        scores = _need_dict(bench.get("scores"), f"{where}.scores", source)
        if METRIC not in scores:
            raise ResultsError(f"{source}: {where}.scores has no {METRIC!r}")
        _fraction(scores[METRIC], f"{where}.scores[{METRIC!r}]", source)
        plus = bench.get("plus_scores")
        if plus is not None:
            if f"{key}_plus" not in BENCHMARKS:
                raise ResultsError(f"{source}: {where}.plus_scores is set, but {key} has no plus tests (use null)")
            _need_dict(plus, f"{where}.plus_scores", source)
            if METRIC not in plus:
                raise ResultsError(f"{source}: {where}.plus_scores has no {METRIC!r}")
            _fraction(plus[METRIC], f"{where}.plus_scores[{METRIC!r}]", source)
        if not isinstance(bench.get("complete"), bool):
            raise ResultsError(f"{source}: {where}.complete must be true or false")
        _need_dict(bench.get("dataset", {}), f"{where}.dataset", source)


def _partial_label(bench: dict) -> str | None:
    if bench["complete"]:
        return None
    done, total = bench.get("n_tasks"), bench.get("dataset", {}).get("n_tasks")
    return f"partial: {done} of {total} tasks" if done is not None and total is not None else "partial"


def score_rows(results: dict) -> list[ScoreRow]:
    """One row per score (base, then plus), in the order of `eval.paper.BENCHMARKS`."""
    benchmarks = results["benchmarks"]
    rows = []
    for key in RESULT_KEYS:
        bench = benchmarks.get(key)
        if bench is None:
            continue
        for score_key, scores in ((key, bench["scores"]), (f"{key}_plus", bench.get("plus_scores"))):
            if scores is None:
                continue
            value = round(100 * scores[METRIC], 1)
            rows.append(
                ScoreRow(
                    score_key, key, BENCHMARKS[score_key].name, METRIC, value, bench["complete"], _partial_label(bench)
                )
            )
    return rows


# --- the table -----------------------------------------------------------------------------------------------------


def _cell(text) -> str:
    return str(text).replace("|", "\\|")


def _decoding(results: dict, bench: dict) -> str:
    settings = results["settings"]
    temperature = bench.get("temperature", settings.get("temperature", 0.0))
    top_p = bench.get("top_p", settings.get("top_p", 1.0))
    n = bench.get("n_samples", settings.get("n_samples", 1))
    if not temperature:
        return f"greedy {METRIC}" + (f" ({n} samples a task)" if n != 1 else "")
    return f"{METRIC} from {n} samples a task at temperature {temperature:g}, top_p {top_p:g}"


def _harness(results: dict, key: str) -> str:
    name, version_key = HARNESSES.get(key, BIGCODE)
    version = results.get("versions", {}).get(version_key)
    return f"{name} {version}" if version else name


def settings_lines(results: dict) -> list[str]:
    """What the run's numbers depend on, one markdown bullet each: decoding, batch size, data."""
    model, settings = results["model"], results["settings"]
    versions = results.get("versions", {})
    run = [f"run of {results['date'][:10]}"]
    if model.get("backend"):
        run.append(f"backend `{model['backend']}`" + (f" ({model['dtype']})" if model.get("dtype") else ""))
    if settings.get("batch_size") is not None:
        run.append(f"batch size {settings['batch_size']}")
    if settings.get("max_new_tokens") is not None:
        run.append(f"max_new_tokens {settings['max_new_tokens']}")
    if settings.get("prompt_style"):
        run.append(f"prompt style `{settings['prompt_style']}`")
    if versions:
        run.append("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    lines = ["- " + "; ".join(run)]
    for key, bench in results["benchmarks"].items():
        dataset = bench.get("dataset", {})
        parts = [_decoding(results, bench)]
        if dataset.get("source"):
            parts.append(f"data: {dataset['source']}")
        if dataset.get("n_tasks") is not None:
            parts.append(f"{dataset['n_tasks']} tasks")
        if dataset.get("hash"):
            parts.append(f"hash `{dataset['hash']}`")
        parts.append(_harness(results, key))
        lines.append(f"- {BENCHMARKS[key].name}: " + ", ".join(parts))
    return lines


def markdown_table(results: dict, paper_models: list[str] | None = None) -> str:
    """This run's pass@1 (%) per benchmark beside the paper's models, then the run's settings."""
    rows = score_rows(results)
    if paper_models is None:
        paper_models = [m for m, scores in PAPER.items() if any(r.key in scores for r in rows)]
    unknown = [m for m in paper_models if m not in PAPER]
    if unknown:
        raise ValueError(f"no paper numbers for {unknown}; known models: {', '.join(PAPER)}")
    header = [f"Benchmark ({METRIC}, %)", results["model"]["name"], *(f"{m} (paper)" for m in paper_models)]
    lines = [
        "| " + " | ".join(_cell(h) for h in header) + " |",
        "|---|" + "---:|" * (len(header) - 1),
    ]
    for row in rows:
        ours = f"{row.value:.1f}" + (f" ({row.partial})" if row.partial else "")
        paper = [f"{PAPER[m][row.key]:.1f}" if row.key in PAPER[m] else "—" for m in paper_models]
        lines.append("| " + " | ".join(_cell(c) for c in (row.name, ours, *paper)) + " |")
    note = (
        f"Paper columns: as reported in [Magicoder]({PAPER_URL}) (greedy for HumanEval(+), MBPP(+) and APPS; "
        "MultiPL-E and DS-1000 sampled at temperature 0.2); — where the paper reports no number."
    )
    return "\n".join([*lines, "", *settings_lines(results), "", note])


# --- model-index and .eval_results ---------------------------------------------------------------------------------


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
        notes = [_decoding(results, run)]
        if results["settings"].get("batch_size") is not None:
            notes.append(f"batch size {results['settings']['batch_size']}")
        notes.append(_harness(results, row.benchmark))
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


# --- the model card ------------------------------------------------------------------------------------------------


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


def _is_heading(line: str, max_level: int = 2) -> bool:
    hashes = len(line) - len(line.lstrip("#"))
    return 1 <= hashes <= max_level and line[hashes : hashes + 1] == " "


def replace_section(body: str, heading: str, section: str) -> str:
    """Replace the `heading` section of a markdown body (up to the next heading of its level or above, code fences
    skipped), or insert it before `## Citation`, or append it."""
    lines = body.split("\n")
    fence = False
    start = end = citation = None
    for i, line in enumerate(lines):
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
            continue
        if fence or not _is_heading(line):
            continue
        if start is not None and end is None:
            end = i
        if line.rstrip() == heading and start is None:
            start = i
        elif line.rstrip() == "## Citation" and citation is None:
            citation = i
    new = section.rstrip("\n").split("\n") + [""]
    if start is not None:
        lines[start : end if end is not None else len(lines)] = new
    elif citation is not None:
        lines[citation:citation] = new
    else:
        while lines and not lines[-1].strip():
            lines.pop()
        lines += ["", *new]
    return "\n".join(lines)


def evaluation_section(results: dict, paper_models: list[str] | None = None) -> str:
    return f"{SECTION}\n\n{markdown_table(results, paper_models)}\n"


def update_model_card(
    model_dir,
    results: dict,
    *,
    model_name: str | None = None,
    paper_models: list[str] | None = None,
    source_url: str | None = None,
) -> Path:
    """Put the results into `model_dir/README.md` (`model-index` + an `## Evaluation` section) and write
    `model_dir/.eval_results/*.yaml`; re-running replaces what an earlier run wrote. Return the README path."""
    from huggingface_hub import ModelCard, ModelCardData

    validate_results(results)
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    path = model_dir / "README.md"
    if path.exists():
        card = ModelCard.load(path)
    else:
        name = model_name or model_dir.name
        data = ModelCardData(model_name=name, pipeline_tag="text-generation", eval_results=[])
        card = ModelCard(f"---\n{data.to_yaml()}\n---\n\n# {name}\n")
    card.data.model_name = model_name or card.data.model_name or model_dir.name
    card.data.eval_results = merge_eval_results(
        card.data.eval_results or [], eval_results(results, source_url=source_url)
    )
    body = "\n".join(RESULTS_BULLET if line.startswith(NO_RESULTS_BULLET) else line for line in card.text.split("\n"))
    card.text = replace_section(body, SECTION, evaluation_section(results, paper_models))
    card.save(path)
    written = write_eval_results(model_dir, results, source_url=source_url)
    skipped = [row.name for row in score_rows(results) if not row.complete]
    if skipped:
        logger.warning("not in the model-index or .eval_results (partial runs): %s", ", ".join(skipped))
    logger.info("model card %s updated; %d .eval_results files", path, len(written))
    return path


# --- push ----------------------------------------------------------------------------------------------------------


def push_results(model_dir, repo_id: str, *, revision: str | None = None, token=None, create_pr: bool = False):
    """Upload `README.md` and `.eval_results/` from model_dir to the model repo `repo_id` (the token from the
    environment or the cached login unless given). Return the `CommitInfo`."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError

    model_dir = Path(model_dir)
    if not (model_dir / "README.md").is_file():
        raise FileNotFoundError(f"{model_dir / 'README.md'}: no model card to push; run update_model_card first")
    try:
        info = HfApi(token=token).upload_folder(
            repo_id=repo_id,
            repo_type="model",
            folder_path=model_dir,
            revision=revision,
            create_pr=create_pr,
            allow_patterns=PUSH_PATTERNS,
            commit_message="Evaluation results",
        )
    except RepositoryNotFoundError as e:
        raise RuntimeError(
            f"model repo {repo_id} not found or not writable with this token: push the model first "
            "(train_sft.py --push_to_hub true) or check HF_TOKEN / `hf auth login`"
        ) from e
    logger.info("evaluation results pushed to %s (%s)", repo_id, getattr(info, "commit_url", ""))
    return info
