"""Parse stage: split each teacher answer into `problem` and `solution`.

The sections are found at the prompt's headers, `[Problem Description]` and `[Solution]`, in the forms real
teachers write them: markdown headings (`## Solution`), bold (`**[Solution]**`), a trailing colon, numbering
(`1. [Problem Description]:`), any case, text on the header line, and a preamble before the first header. Header
look-alikes inside code fences are ignored. A row is rejected, with its reason, when the answer was cut off
(`finish_reason` other than `stop`) or a section is missing or empty. Otherwise noisy rows are kept, as in the
paper. Output columns follow the released `ise-uiuc/Magicoder-OSS-Instruct-75K`, plus provenance and usage.
"""

from __future__ import annotations

import logging
import re

from dataset_builder.config import BuilderConfig
from dataset_builder.runs import DropCounter, RunDir, with_index
from dataset_builder.stages.base import Stage

logger = logging.getLogger(__name__)

HEADER = re.compile(
    r"""^[ \t]*
    (?P<heading>(?:\#{1,6}|>)[ \t]*)?
    (?P<emph_open>[*_]{1,3}[ \t]*)?
    (?:\d+[.)][ \t]*)?
    (?P<bracket>\[)?
    (?P<name>problem(?:[ \t]+(?:description|statement))?|solution)
    (?(bracket)\])
    [ \t]*(?P<emph_close>[*_]{1,3})?[ \t]*
    (?P<colon>:)?[ \t]*(?:[*_]{1,3})?[ \t]*
    (?P<rest>.*?)[ \t]*$""",
    re.IGNORECASE | re.VERBOSE,
)
FENCE = re.compile(r"^[ \t]*(```|~~~)")
RULE = re.compile(r"^[ \t]*([-*_])([ \t]*\1){2,}[ \t]*$")

OUTPUT_COLUMNS = [
    "lang",
    "raw_index",
    "index",
    "seed",
    "openai_fingerprint",
    "problem",
    "solution",
    "source",
    "repository",
    "path",
    "line_start",
    "line_end",
    "license",
    "teacher_model",
    "finish_reason",
    "prompt_tokens",
    "completion_tokens",
    "latency_s",
]


def _header(line: str) -> tuple[str, str] | None:
    """('problem' | 'solution', text after the header) when the line is a section header."""
    m = HEADER.match(line)
    if not m:
        return None
    rest = m["rest"]
    decorated = m["bracket"] or m["heading"] or m["emph_open"]
    if rest and not (m["bracket"] or m["colon"]):
        return None  # prose that starts with the word ("Solution to this is ...")
    if not rest and not (decorated or m["colon"]) and m["name"].lower() not in ("problem description", "solution"):
        return None  # a bare "Problem" line is too ambiguous
    name = "solution" if m["name"].lower() == "solution" else "problem"
    return name, rest.strip("*_ \t")


def _clean(lines: list[str]) -> str:
    while lines and (not lines[0].strip() or RULE.match(lines[0])):
        lines = lines[1:]
    while lines and (not lines[-1].strip() or RULE.match(lines[-1])):
        lines = lines[:-1]
    return "\n".join(lines).strip()


def parse_response(text: str) -> tuple[str | None, str | None, str | None]:
    """(problem, solution, None) or (None, None, reason)."""
    lines = text.splitlines()
    problem_at = solution_at = None
    heads: dict[int, str] = {}
    in_fence = False
    for i, line in enumerate(lines):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        header = _header(line)
        if header is None:
            continue
        name, rest = header
        if name == "problem" and problem_at is None:
            problem_at, heads[i] = i, rest
        elif name == "solution" and problem_at is not None and solution_at is None:
            solution_at, heads[i] = i, rest
            break
    if problem_at is None:
        has_solution = any((h := _header(line)) and h[0] == "solution" for line in lines)
        return None, None, "missing_problem_section" if has_solution else "no_sections"
    if solution_at is None:
        return None, None, "missing_solution_section"
    problem = _clean([heads[problem_at], *lines[problem_at + 1 : solution_at]])
    solution = _clean([heads[solution_at], *lines[solution_at + 1 :]])
    if not problem:
        return None, None, "empty_problem"
    if not solution:
        return None, None, "empty_solution"
    return problem, solution, None


def _parse_row(row: dict) -> dict:
    finish = row["finish_reason"]
    if finish != "stop":
        reason = "truncated" if finish == "length" else f"finish_reason_{finish}"
        return {"problem": None, "solution": None, "reason": reason}
    problem, solution, reason = parse_response(row["response"] or "")
    return {"problem": problem, "solution": solution, "reason": reason}


def run(config: BuilderConfig, run_dir: RunDir, upstream: RunDir) -> None:
    generated = upstream.load()
    parsed = generated.map(_parse_row, desc="parse")
    counter = DropCounter.of_reasons(parsed["reason"])
    kept = parsed.filter(lambda r: r["reason"] is None, desc="parse: keep")
    rejects = parsed.filter(lambda r: r["reason"] is not None, desc="parse: rejects")
    rejects = rejects.remove_columns(["problem", "solution"])
    kept = kept.rename_column("system_fingerprint", "openai_fingerprint")
    kept = with_index(kept)
    kept = kept.select_columns(OUTPUT_COLUMNS)
    run_dir.save(kept, rejects, counter)
    logger.info("parse: %s of %d rows -> %s", counter.summary(), len(generated), run_dir.dataset_path)


class Parse(Stage):
    """Splits each teacher answer into `problem` and `solution`."""

    name = "parse"
    version = 1
    run = staticmethod(run)
