import pytest

from dataset_builder.config import BuilderConfig
from dataset_builder.runs import DropCounter, RunDir
from dataset_builder.stages.parse import OUTPUT_COLUMNS, fence_closed, parse_response, run

PROBLEM = "Write a function `add(a, b)` that returns the sum of two integers."
SOLUTION = "```python\ndef add(a, b):\n    return a + b\n```"

# Shapes real teachers write the two sections in.
WELL_FORMED = {
    "paper format": f"[Problem Description]\n{PROBLEM}\n\n[Solution]\n{SOLUTION}",
    "markdown headings": f"## [Problem Description]\n{PROBLEM}\n\n## [Solution]\n{SOLUTION}",
    "headings without brackets": f"### Problem Description\n{PROBLEM}\n\n### Solution\n{SOLUTION}",
    "bold": f"**[Problem Description]**\n{PROBLEM}\n\n**[Solution]**\n{SOLUTION}",
    "bold with colon": f"**Problem Description:**\n{PROBLEM}\n\n**Solution:**\n{SOLUTION}",
    "upper case": f"[PROBLEM DESCRIPTION]\n{PROBLEM}\n\n[SOLUTION]\n{SOLUTION}",
    "numbered like the guidelines": f"1. [Problem Description]:\n{PROBLEM}\n\n2. [Solution]:\n{SOLUTION}",
    "preamble": f"Sure! Here is a problem.\n\n[Problem Description]\n{PROBLEM}\n\n[Solution]\n{SOLUTION}",
    "horizontal rules": f"[Problem Description]\n---\n{PROBLEM}\n\n---\n\n[Solution]\n{SOLUTION}\n---",
    "windows newlines": f"[Problem Description]\r\n{PROBLEM}\r\n\r\n[Solution]\r\n{SOLUTION}".replace("\n", "\r\n"),
}


@pytest.mark.parametrize("text", WELL_FORMED.values(), ids=WELL_FORMED.keys())
def test_sections_are_found(text):
    problem, solution, reason = parse_response(text)
    assert reason is None
    assert problem == PROBLEM
    assert solution.replace("\r", "") == SOLUTION


def test_text_on_the_header_line_belongs_to_the_section():
    text = f"[Problem Description]: {PROBLEM}\n\n[Solution]: Use the + operator.\n{SOLUTION}"
    problem, solution, reason = parse_response(text)
    assert reason is None
    assert problem == PROBLEM
    assert solution == f"Use the + operator.\n{SOLUTION}"


def test_section_names_inside_prose_and_code_are_not_headers():
    text = (
        "[Problem Description]\n"
        "Implement the function below; the [Solution] section must not rely on globals.\n"
        "```python\n# Solution\ndef stub():\n    pass\n```\n"
        "Solution quality is judged by tests.\n\n"
        "[Solution]\n"
        f"{SOLUTION}"
    )
    problem, solution, reason = parse_response(text)
    assert reason is None
    assert problem.startswith("Implement the function below")
    assert "# Solution" in problem
    assert problem.endswith("Solution quality is judged by tests.")
    assert solution == SOLUTION


def test_later_headers_stay_in_the_solution():
    text = f"[Problem Description]\n{PROBLEM}\n\n[Solution]\n{SOLUTION}\n\n### Solution explanation\nIt adds."
    _, solution, reason = parse_response(text)
    assert reason is None
    assert solution.endswith("It adds.")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("please share your code snippet", "no_sections"),
        (f"{PROBLEM}\n\n[Solution]\n{SOLUTION}", "missing_problem_section"),
        (f"[Problem Description]\n{PROBLEM}\n", "missing_solution_section"),
        (f"[Problem Description]\n\n[Solution]\n{SOLUTION}", "empty_problem"),
        (f"[Problem Description]\n{PROBLEM}\n\n[Solution]\n\n", "empty_solution"),
        (f"[Solution]\n{SOLUTION}\n\n[Problem Description]\n{PROBLEM}", "missing_solution_section"),
        ("", "no_sections"),
    ],
)
def test_unusable_answers_are_rejected_with_a_reason(text, reason):
    assert parse_response(text) == (None, None, reason)


# Fences nest by their opening marker (CommonMark): a fence closes only with the same character, at least as many.
LONGER_FENCE = """[Problem Description]
You are writing `first_block(markdown: str) -> str` for a static-site generator. It returns the body of the first
fenced code block of a Markdown document. Authors sometimes forget to close a block; the block then runs to the end
of the document. For example, given

````markdown
Install the package:
```bash
pip install sitegen
````

the function returns `"pip install sitegen"`.

[Solution]
```python
def first_block(markdown: str) -> str:
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("```"))
    body = []
    for line in lines[start + 1 :]:
        if line.startswith("```"):
            break
        body.append(line)
    return "\\n".join(body)
```"""

TILDE_FENCE = """[Problem Description]
Write a lint rule `open_fences(text: str) -> list[int]` that returns the 1-based line numbers of backtick code
blocks that are never closed. In this document:

~~~text
# Usage
```python
run()
~~~

the rule reports `[2]`.

[Solution]
```python
def open_fences(text: str) -> list[int]:
    opened = None
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            opened = None if opened else number
    return [opened] if opened else []
```"""


@pytest.mark.parametrize(
    ("text", "problem_end"),
    [(LONGER_FENCE, 'the function returns `"pip install sitegen"`.'), (TILDE_FENCE, "the rule reports `[2]`.")],
    ids=["four backticks", "tildes"],
)
def test_fences_close_only_with_their_own_marker(text, problem_end):
    problem, solution, reason = parse_response(text)
    assert reason is None
    assert problem.endswith(problem_end)
    assert solution.startswith("```python\ndef ")
    assert solution.endswith("```")


def test_a_header_inside_a_longer_fence_is_not_a_header():
    text = (
        "[Problem Description]\n"
        "Write `answer_template(question: str) -> str` for a Q&A bot. It returns this Markdown:\n\n"
        "````markdown\n"
        "```text\n"
        "{question}\n"
        "[Solution]\n"
        "````\n\n"
        "with `{question}` filled in.\n\n"
        "[Solution]\n"
        f"{SOLUTION}"
    )
    problem, solution, reason = parse_response(text)
    assert reason is None
    assert problem.endswith("with `{question}` filled in.")
    assert solution == SOLUTION


def test_the_prompts_bracketed_headers_win_over_looser_forms():
    text = (
        "[Problem Description]\n"
        "You are given a file of chess puzzles, two lines per puzzle:\n\n"
        "Puzzle: r1bqkb1r/pppp1ppp/2n2n2/4p2Q/2B1P3/8/PPPP1PPP/RNB1K1NR w KQkq - 4 4\n"
        "Solution: Qxf7#\n\n"
        "Write `load_puzzles(path: str) -> list[tuple[str, str]]` that returns (FEN, move) pairs in file order.\n\n"
        "[Solution]\n"
        "```python\n"
        "def load_puzzles(path: str) -> list[tuple[str, str]]:\n"
        "    with open(path) as f:\n"
        "        lines = [line.split(':', 1)[1].strip() for line in f if ':' in line]\n"
        "    return list(zip(lines[::2], lines[1::2]))\n"
        "```"
    )
    problem, solution, reason = parse_response(text)
    assert reason is None
    assert "Solution: Qxf7#" in problem
    assert problem.endswith("in file order.")
    assert solution.startswith("```python\ndef load_puzzles")


@pytest.mark.parametrize(
    ("header", "rest"),
    [
        ("[Solution]: __slots__ keep the instances small.", "__slots__ keep the instances small."),
        ("[Solution] __init__ validates its arguments:", "__init__ validates its arguments:"),
        ("**Solution:** define __eq__ and __hash__", "define __eq__ and __hash__"),
        ("**Solution: override __repr__**", "override __repr__"),
        ("_Solution_: export names with __all__", "export names with __all__"),
    ],
)
def test_underscores_on_the_header_line_are_kept(header, rest):
    problem, solution, reason = parse_response(f"[Problem Description]\n{PROBLEM}\n\n{header}\n{SOLUTION}")
    assert reason is None
    assert problem == PROBLEM
    assert solution == f"{rest}\n{SOLUTION}"


def generated_row(raw_index: int, response: str, finish_reason: str = "stop") -> dict:
    return {
        "lang": "python",
        "raw_index": raw_index,
        "seed": f"x = {raw_index}",
        "source": "quickstart",
        "repository": "example/repo",
        "path": f"src/f{raw_index}.py",
        "line_start": 1,
        "line_end": 3,
        "license": "mit",
        "response": response,
        "finish_reason": finish_reason,
        "teacher_model": "fake-teacher",
        "system_fingerprint": "fp_fake",
        "prompt_tokens": 100,
        "completion_tokens": 200,
        "latency_s": 0.5,
        "attempts": 1,
    }


def test_a_solution_fence_left_open_is_kept_and_flagged(tmp_path):
    from datasets import Dataset, load_from_disk

    unclosed = "```python\ndef add(a, b):\n    return a + b\n\nThe function adds its arguments."
    upstream = RunDir(tmp_path, "generate", "fp")
    answers = [
        generated_row(0, f"[Problem Description]\n{PROBLEM}\n\n[Solution]\n{SOLUTION}"),
        generated_row(1, f"[Problem Description]\n{PROBLEM}\n\n[Solution]\n{unclosed}"),
        generated_row(2, f"[Problem Description]\n{PROBLEM}\n\n[Solution]\n```python\ndef add(a, b):", "length"),
    ]
    upstream.save(Dataset.from_list(answers), Dataset.from_dict({"raw_index": []}), DropCounter())
    run_dir = RunDir(tmp_path, "parse", "fp2")
    run(BuilderConfig(output_dir=str(tmp_path)), run_dir, upstream)

    kept = run_dir.load()
    assert kept.column_names == OUTPUT_COLUMNS
    assert kept["raw_index"] == [0, 1]
    assert kept["solution"] == [SOLUTION, unclosed]
    assert kept["solution_fence_closed"] == [True, False]
    assert run_dir.stats()["flags"] == {"unclosed_solution_fence": 1}
    assert load_from_disk(str(run_dir.rejects_path))["reason"] == ["truncated"]


@pytest.mark.parametrize(
    ("text", "closed"),
    [
        (SOLUTION, True),
        ("Use the + operator.", True),
        ("```python\ndef add(a, b):\n    return a + b", False),
        ("````markdown\n```python\nx = 1\n```\n", False),
        ("~~~\nx = 1\n~~~~\n", True),
    ],
)
def test_fence_closed(text, closed):
    assert fence_closed(text) is closed
