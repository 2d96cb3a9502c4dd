"""The markdown table of a run (`results.md` and the card's `## Evaluation`): its pass@1 per benchmark beside the
paper's numbers, then the settings the numbers depend on."""

from __future__ import annotations

from eval.paper import BENCHMARKS, PAPER, PAPER_URL
from eval.results import METRIC, score_rows

# The harness that scores each benchmark: (display name, key of its version in `results.json` "versions").
HARNESSES = {"humaneval": ("EvalPlus", "evalplus"), "mbpp": ("EvalPlus", "evalplus")}
BIGCODE = ("bigcode-evaluation-harness", "bigcode_eval")


def _cell(text) -> str:
    return str(text).replace("|", "\\|")


def bench_settings(results: dict, key: str) -> dict:
    """The settings benchmark `key` ran with: an EvalPlus benchmark the run's `settings`, a bigcode benchmark its own
    (the harness ignores the run's); decoding fields the entry itself records take precedence."""
    bench = results["benchmarks"][key]
    base = results["settings"] if key in HARNESSES else bench.get("settings", {})
    return base | {name: bench[name] for name in ("temperature", "top_p", "n_samples") if name in bench}


def decoding(results: dict, key: str) -> str:
    """How benchmark `key`'s samples were drawn, e.g. "greedy pass@1"."""
    settings = bench_settings(results, key)
    temperature = settings.get("temperature", 0.0)
    top_p = settings.get("top_p", 1.0)
    n = settings.get("n_samples", 1)
    if not temperature:
        return f"greedy {METRIC}" + (f" ({n} samples a task)" if n != 1 else "")
    return f"{METRIC} from {n} samples a task at temperature {temperature:g}, top_p {top_p:g}"


def harness_label(results: dict, key: str) -> str:
    """The harness that scored benchmark `key`, with its version when the run recorded it."""
    name, version_key = HARNESSES.get(key, BIGCODE)
    version = results.get("versions", {}).get(version_key)
    return f"{name} {version}" if version else name


def settings_lines(results: dict) -> list[str]:
    """What the run's numbers depend on, one markdown bullet each: decoding, batch size, data."""
    model, settings = results["model"], results["settings"]
    versions = results.get("versions", {})
    run = [f"run of {results['date'][:10]}"]
    if any(key in HARNESSES for key in results["benchmarks"]):  # the generation settings of EvalPlus benchmarks
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
        parts = [decoding(results, key)]
        if key not in HARNESSES:  # a bigcode benchmark's own generation settings
            own = bench_settings(results, key)
            if own.get("batch_size") is not None:
                parts.append(f"batch size {own['batch_size']}")
            if own.get("max_length_generation") is not None:
                parts.append(f"max length {own['max_length_generation']} (prompt + generation)")
            if own.get("precision"):
                parts.append(f"precision {own['precision']}")
        if key not in HARNESSES and dataset.get("harness_tasks"):  # the harness's tasks load their own data
            where = dataset.get("data") or "as the harness downloads it"
            parts.append(f"data: the harness's {', '.join(dataset['harness_tasks'])} ({where})")
        elif dataset.get("source"):
            parts.append(f"data: {dataset['source']}")
        if dataset.get("n_tasks") is not None:
            parts.append(f"{dataset['n_tasks']} tasks")
        if dataset.get("hash"):
            parts.append(f"hash `{dataset['hash']}`")
        parts.append(harness_label(results, key))
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
