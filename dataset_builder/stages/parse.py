"""Parse stage: split each teacher answer into `problem` and `solution`.

The sections are found at the prompt's headers, `[Problem Description]` and `[Solution]`, in the forms real teachers
write them: markdown headings (`## Solution`), bold (`**[Solution]**`), a trailing colon, numbering
(`1. [Problem Description]:`), any case, text on the header line, and a preamble before the first header. When both
exact bracketed headers are there they win, so a prose line such as "Solution: Qxf7#" in the problem does not split
it; the looser forms are used only otherwise. Header look-alikes inside code fences are ignored; as in CommonMark, a
fence closes only with its own character, at least as many of it. A row is rejected, with its reason, when the answer
was cut off (`finish_reason` other than `stop`) or a section is missing or empty. Otherwise noisy rows are kept, as in
the paper. Output columns follow the released `ise-uiuc/Magicoder-OSS-Instruct-75K`, plus provenance and usage.

A solution whose code fence is never closed although the teacher stopped on its own is such a noisy row: it is kept
and flagged, not rejected, with `solution_fence_closed` false; the stats count these rows under `flags`.
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
    (?P<emph>[*_]{1,3})?[ \t]*
    (?:\d+[.)][ \t]*)?
    (?P<bracket>\[)?
    (?P<name>problem(?:[ \t]+(?:description|statement))?|solution)
    (?(bracket)\])
    [ \t]*(?P<after>.*?)[ \t]*$""",
    re.IGNORECASE | re.VERBOSE,
)
FENCE = re.compile(r"^[ \t]*(?P<marker>`{3,}|~{3,})(?P<info>.*)$")
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
    "solution_fence_closed",
]


def _after_name(after: str, emph: str | None) -> tuple[str, bool]:
    """(text on the header line, whether a colon follows the name), without the colon and the emphasis closing `emph`.

    The closer may come before the colon (`**Solution**:`), after it (`**Solution:**`) or end the line
    (`**Solution: text**`); other `*` and `_` are text (`[Solution]: __init__ ...`) unless they are all there is.
    """
    closer = emph[::-1] if emph else None
    if closer and after.startswith(closer):
        after, closer = after[len(closer) :].lstrip(" \t"), None
    colon = after.startswith(":")
    if colon:
        after = after[1:].lstrip(" \t")
    if closer and after.startswith(closer):
        after, closer = after[len(closer) :].lstrip(" \t"), None
    if closer and after.endswith(closer):
        after = after[: -len(closer)].rstrip(" \t")
    if not after.strip("*_ \t"):
        after = ""  # stray emphasis markers, nothing else
    return after, colon


def _header(line: str) -> tuple[str, str, bool] | None:
    """(name, text after the header, exact) when the line is a section header; name is 'problem' or 'solution'.

    `exact` when it is one of the prompt's own bracketed headers, `[Problem Description]` or `[Solution]`.
    """
    m = HEADER.match(line)
    if not m:
        return None
    rest, colon = _after_name(m["after"], m["emph"])
    decorated = m["bracket"] or m["heading"] or m["emph"]
    spelled = " ".join(m["name"].lower().split())
    if rest and not (m["bracket"] or colon):
        return None  # prose that starts with the word ("Solution to this is ...")
    if not rest and not (decorated or colon) and spelled not in ("problem description", "solution"):
        return None  # a bare "Problem" line is too ambiguous
    name = "solution" if spelled == "solution" else "problem"
    exact = bool(m["bracket"]) and spelled in ("problem description", "solution")
    return name, rest, exact


def _fence(line: str, open_fence: str | None) -> str | None:
    """The fence open after `line`, given the one open before it.

    As in CommonMark, a fence closes only with a bare line of the same character, at least as long as the opener.
    """
    m = FENCE.match(line)
    if m is None:
        return open_fence
    marker, info = m["marker"], m["info"]
    if open_fence is None:
        return None if marker[0] == "`" and "`" in info else marker
    if marker[0] == open_fence[0] and len(marker) >= len(open_fence) and not info.strip():
        return None
    return open_fence


def _clean(lines: list[str]) -> str:
    while lines and (not lines[0].strip() or RULE.match(lines[0])):
        lines = lines[1:]
    while lines and (not lines[-1].strip() or RULE.match(lines[-1])):
        lines = lines[:-1]
    return "\n".join(lines).strip()


def _sections(lines: list[str], exact: bool) -> dict[str, tuple[int, str]]:
    """{name: (line number, text after the header)} of the first problem header and the first solution header after
    it, outside code fences; with `exact`, only the prompt's own bracketed headers count."""
    found: dict[str, tuple[int, str]] = {}
    fence = None
    for i, line in enumerate(lines):
        inside, fence = fence, _fence(line, fence)
        if inside or fence:
            continue
        header = _header(line)
        if header is None or (exact and not header[2]):
            continue
        name, rest, _ = header
        if name == "problem" and "problem" not in found:
            found["problem"] = (i, rest)
        elif name == "solution" and "problem" in found:
            found["solution"] = (i, rest)
            break
    return found


def parse_response(text: str) -> tuple[str | None, str | None, str | None]:
    """(problem, solution, None) or (None, None, reason).

    The prompt's exact bracketed headers are used when the answer has both; the looser forms only otherwise.
    """
    lines = text.splitlines()
    found = _sections(lines, exact=True)
    if "solution" not in found:
        found = _sections(lines, exact=False)
    if "problem" not in found:
        has_solution = any((h := _header(line)) and h[0] == "solution" for line in lines)
        return None, None, "missing_problem_section" if has_solution else "no_sections"
    if "solution" not in found:
        return None, None, "missing_solution_section"
    (problem_at, problem_head), (solution_at, solution_head) = found["problem"], found["solution"]
    problem = _clean([problem_head, *lines[problem_at + 1 : solution_at]])
    solution = _clean([solution_head, *lines[solution_at + 1 :]])
    if not problem:
        return None, None, "empty_problem"
    if not solution:
        return None, None, "empty_solution"
    return problem, solution, None


def fence_closed(text: str) -> bool:
    """False when a code fence in the text is never closed."""
    fence = None
    for line in text.splitlines():
        fence = _fence(line, fence)
    return fence is None


def _flags(row: dict) -> dict:
    return {"solution_fence_closed": fence_closed(row["solution"] or "")}


def _parse_row(row: dict) -> dict:
    finish = row["finish_reason"]
    if finish != "stop":
        reason = "truncated" if finish == "length" else f"finish_reason_{finish}"
        return {"problem": None, "solution": None, "reason": reason}
    problem, solution, reason = parse_response(row["response"] or "")
    return {"problem": problem, "solution": solution, "reason": reason}


def run(config: BuilderConfig, run_dir: RunDir, upstream: RunDir) -> None:
    generated = upstream.load()
    parsed = generated.map(_parse_row, desc="parse").map(_flags, desc="parse: flags")
    counter = DropCounter.of_reasons(parsed["reason"])
    kept = parsed.filter(lambda r: r["reason"] is None, desc="parse: keep")
    rejects = parsed.filter(lambda r: r["reason"] is not None, desc="parse: rejects")
    rejects = rejects.remove_columns(["problem", "solution", "solution_fence_closed"])
    kept = kept.rename_column("system_fingerprint", "openai_fingerprint")
    kept = with_index(kept)
    kept = kept.select_columns(OUTPUT_COLUMNS)
    unclosed = sum(not closed for closed in kept["solution_fence_closed"])
    run_dir.save(kept, rejects, counter, flags={"unclosed_solution_fence": unclosed})
    logger.info(
        "parse: %s of %d rows (flagged: unclosed_solution_fence=%d) -> %s",
        counter.summary(),
        len(generated),
        unclosed,
        run_dir.dataset_path,
    )


class Parse(Stage):
    """Splits each teacher answer into `problem` and `solution`."""

    name = "parse"
    # 2: the `solution_fence_closed` column, the `flags` stats and the header/fence fixes
    version = 2
    run = staticmethod(run)
