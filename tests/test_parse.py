import pytest

from dataset_builder.stages.parse import parse_response

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
