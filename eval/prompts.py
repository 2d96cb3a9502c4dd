"""The paper's evaluation prompts (REFERENCE.md §4), as requests for a generation backend.

`instruct` (Magicoder's): the instruction goes in the user turn of the model's chat template and the assistant turn is
pre-filled with a response prefix; generation stops at the first closing fence. `completion` (for base models, as
EvalPlus prompts them): the raw problem text, continued.
"""

from __future__ import annotations

from dataclasses import dataclass

FENCE = "```"
STYLES = ("instruct", "completion")
# EvalPlus's extra stops for direct completion of base models.
COMPLETION_STOPS = ["\nif __name__", "\ndef main(", "\nprint(", "\n```"]


@dataclass(frozen=True)
class Prompt:
    task_id: str
    instruction: str  # empty for completion style
    response_prefix: str
    code_prefix: str  # the part of the response prefix that is code: the solution is code_prefix + completion


def humaneval_prompt(problem: dict) -> Prompt:
    prompt = problem["prompt"].strip()
    return Prompt(
        task_id=problem["task_id"],
        instruction=f"Write a solution to the following problem:\n```python\n{prompt}\n```",
        response_prefix=f"```python\n{prompt}",
        code_prefix=prompt,
    )


def mbpp_prompt(problem: dict) -> Prompt:
    """EvalPlus's MBPP+ prompt is a docstring holding the description and one assertion."""
    text = problem["prompt"]
    start, end = text.find('"""'), text.rfind('"""')
    if start == -1 or end <= start:
        raise ValueError(f"{problem['task_id']}: the prompt is not an MBPP+ docstring")
    text = text[start + 3 : end]
    split = text.find("assert")
    if split == -1:
        raise ValueError(f"{problem['task_id']}: the prompt has no assertion")
    description, assertion = text[:split].strip(), text[split:].strip()
    if not description.endswith("."):
        description += "."
    return Prompt(
        task_id=problem["task_id"],
        instruction=f"{description} Your code should satisfy the following assertion:\n```python\n{assertion}\n```",
        response_prefix="```python",
        code_prefix="",
    )


def completion_prompt(problem: dict) -> Prompt:
    return Prompt(problem["task_id"], "", problem["prompt"], problem["prompt"])


def build_prompt(dataset: str, problem: dict, style: str = "instruct") -> Prompt:
    if style == "completion":
        return completion_prompt(problem)
    if style != "instruct":
        raise ValueError(f"unknown prompt style {style!r}: use one of {', '.join(STYLES)}")
    return humaneval_prompt(problem) if dataset == "humaneval" else mbpp_prompt(problem)


def stops(style: str) -> list[str]:
    return [FENCE] if style == "instruct" else COMPLETION_STOPS


def cut(completion: str, style: str) -> str:
    """The completion up to the first stop (the closing fence for instruct prompts)."""
    from oss_generate.base import cut_at_stop

    return cut_at_stop(completion, stops(style))
