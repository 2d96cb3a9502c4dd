"""Generation for EvalPlus benchmarks: prompts → backend → raw completions (journaled) → sanitized samples.

A run folder holds `problems.jsonl` (the exact tasks), `raw.jsonl` (one line per finished sample, appended per batch:
a crash loses at most one batch and a rerun generates only what is missing) and `samples.jsonl` (EvalPlus's input:
`solution` = the code prefix + the completion cut at the first closing fence, then `evalplus.sanitize`; the raw
completion is kept beside it).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from eval.prompts import Prompt, cut
from oss_common.journal import Journal

logger = logging.getLogger(__name__)


def requests_for(prompts: list[Prompt], system_prompt: str | None = None):
    from oss_generate import Request

    requests = []
    for prompt in prompts:
        if prompt.instruction:
            messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
            messages.append({"role": "user", "content": prompt.instruction})
        else:  # completion style: no template, continue the text
            messages = []
        requests.append(Request(messages=messages, response_prefix=prompt.response_prefix, id=prompt.task_id))
    return requests


def generate(backend, prompts: list[Prompt], params, journal_path: Path, batch_size: int) -> dict[str, list[str]]:
    """`{task_id: [completion, ...]}` for every prompt, generating only what `journal_path` lacks."""
    from tqdm.auto import tqdm

    n = params.n
    with Journal(journal_path) as journal:
        pending = [(i, p) for i, p in enumerate(prompts) if i * n not in journal.done]
        if len(pending) < len(prompts):
            logger.info(
                "%s: %d of %d tasks already generated",
                journal_path.parent.name,
                len(prompts) - len(pending),
                len(prompts),
            )
        with tqdm(total=len(prompts), initial=len(prompts) - len(pending), desc="generate", unit="task") as bar:
            for start in range(0, len(pending), batch_size):
                batch = pending[start : start + batch_size]
                outputs = backend.generate(requests_for([p for _, p in batch]), params)
                for (i, prompt), completions in zip(batch, outputs, strict=True):
                    for j, completion in enumerate(completions):
                        journal.append({"raw_index": i * n + j, "task_id": prompt.task_id, "completion": completion})
                bar.update(len(batch))
    by_task: dict[str, list[str]] = {p.task_id: [] for p in prompts}
    for row in sorted(journal.rows(), key=lambda r: r["raw_index"]):
        if row["task_id"] in by_task:
            by_task[row["task_id"]].append(row["completion"])
    return by_task


def write_samples(
    prompts: list[Prompt], completions: dict[str, list[str]], entry_points: dict[str, str], style: str, path: Path
) -> bool:
    """Write EvalPlus's samples file; True when it changed (so earlier scores are stale)."""
    from evalplus.sanitize import sanitize

    lines = []
    for prompt in prompts:
        for completion in completions[prompt.task_id]:
            code = prompt.code_prefix + cut(completion, style)
            solution = sanitize(code, entry_points[prompt.task_id])
            lines.append(json.dumps({"task_id": prompt.task_id, "solution": solution, "completion": completion}))
    text = "\n".join(lines) + "\n"
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True
