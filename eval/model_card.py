"""The scores in a local model folder's card: the `model-index`, an `## Evaluation` section holding the table, the
limitation bullet `oss_sft/card.py` writes replaced, and the `.eval_results/` files beside the card.

Nothing is read from the environment into a written file; the model's local path (`model.name_or_path`) is never
written either.
"""

from __future__ import annotations

import logging
from pathlib import Path

from eval.model_index import eval_results, merge_eval_results, write_eval_results
from eval.results import score_rows, validate_results
from eval.table import markdown_table
from oss_common.card import NO_RESULTS_BULLET

logger = logging.getLogger(__name__)

SECTION = "## Evaluation"
# The limitation bullet `oss_sft/card.py` writes before any evaluation, and what replaces it once there is one.
RESULTS_BULLET = (
    "- The evaluation results below come from one run with the settings listed there; pass@1 moves with the batch "
    "size, the prompt and the benchmark's version, so compare numbers measured the same way."
)


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
