"""The guided local teachers: the paper's messages in the model's template, steered into the two sections; the tests
prompt's answer started inside a code fence of the row's language."""

import pytest

from dataset_builder.prompts import messages
from dataset_builder.runs import RunDir
from dataset_builder.stages.parse import _parse_row
from dataset_builder.teacher.base import Request, TeacherSettings
from dataset_builder.teacher.guided import (
    PROBLEM_HEADER,
    PROBLEM_MAX_TOKENS,
    SOLUTION_HEADER,
    GuidedLocalTeacher,
    answer,
    cut_code,
    first_paragraph,
)
from tests.helpers.teacher_run import run_backend
from tests.helpers.teacher_server import TeacherServer
from tests.helpers.tiny_model import build_tiny_model

SNIPPETS = ["def add(a, b):\n    return a + b", 'fn main() {\n    println!("hi");\n}', "echo $HOME"]


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny"))


def _teacher(tmp_path, model: str, base_url: str) -> GuidedLocalTeacher:
    settings = TeacherSettings(
        model=model,
        base_url=base_url,
        temperature=0.0,
        top_p=None,
        concurrency=3,
        request_timeout=120,
        max_retries=0,
    )
    return GuidedLocalTeacher(settings, RunDir(tmp_path, "generate", "fp"))


def _requests(max_tokens: int) -> list[Request]:
    return [Request(i, messages(code), 976 + i, max_tokens) for i, code in enumerate(SNIPPETS)]


def test_first_paragraph():
    assert first_paragraph("\n  Sum two numbers.\nReturn it.\n\nMore prose.\n\n") == "Sum two numbers.\nReturn it."
    assert first_paragraph("   ") == ""


def test_cut_code_stops_at_the_first_fence_whatever_the_server_said():
    assert cut_code("x = 1\n```\n\nprose ```", "length") == ("x = 1", "stop")
    assert cut_code("x = 1\ny = 2", "length") == ("x = 1\ny = 2", "length")
    assert cut_code("x = 1\n", "stop") == ("x = 1", "stop")  # the server applied the stop itself


def test_answer_parses_into_the_steered_problem_and_solution():
    text = answer("Add two numbers.", "python\ndef add(a, b):\n    return a + b", "stop")
    row = _parse_row({"finish_reason": "stop", "response": text})
    assert row == {
        "problem": "Add two numbers.",
        "solution": "```python\ndef add(a, b):\n    return a + b\n```",
        "reason": None,
    }
    # cut off: no closing fence, and the parser drops the row as truncated
    cut = answer("Add two numbers.", "python\ndef add(a, b):", "length")
    assert not cut.endswith("```")
    assert _parse_row({"finish_reason": "length", "response": cut})["reason"] == "truncated"
    # no problem written: the parser says so
    empty = answer("", "python\npass", "stop")
    assert _parse_row({"finish_reason": "stop", "response": empty})["reason"] == "empty_problem"


def test_requests_continue_the_rendered_prompt(tmp_path, tiny_model_dir):
    """Two completions per seed; the second continues the first's prompt with the problem and the solution fence."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    with TeacherServer() as server:
        teacher = _teacher(tmp_path, str(tiny_model_dir), server.base_url)
        rows, accounting, _ = run_backend(teacher, _requests(300), tmp_path / "journal.jsonl")
    assert sorted(rows) == [0, 1, 2] and accounting.rows == 3
    bodies = {}
    for body in server.bodies:
        bodies.setdefault(body["seed"], []).append(body)
    for i, code in enumerate(SNIPPETS):
        first, second = bodies[976 + i]
        rendered = tokenizer.apply_chat_template(messages(code), tokenize=False, add_generation_prompt=True)
        assert code in rendered and "messages" not in first
        assert first["prompt"] == rendered + PROBLEM_HEADER
        assert first["max_tokens"] == PROBLEM_MAX_TOKENS and first["temperature"] == 0.0
        # the scripted server answers "[Problem Description]\nWrite ... {seed}.\n\n[Solution]\n```python ..."
        problem = f"[Problem Description]\nWrite a function `f_{_digest(first)}` that returns the number {976 + i}."
        assert second["prompt"] == first["prompt"] + problem + SOLUTION_HEADER
        assert second["max_tokens"] == 300 and second["stop"] == ["```"]
        row = rows[i]
        assert row["response"].startswith(PROBLEM_HEADER + problem + SOLUTION_HEADER)
        assert row["finish_reason"] == "stop" and row["response"].endswith("\n```")
        assert row["prompt_tokens"] == len(first["prompt"]) // 4 + len(second["prompt"]) // 4
    assert accounting.prompt_tokens == sum(r["prompt_tokens"] for r in rows.values())


def _digest(body: dict) -> str:
    import hashlib

    return hashlib.sha256(f"{body['seed']}:{body['prompt']}".encode()).hexdigest()[:12]


def test_against_transformers_serve_with_continuous_batching(tmp_path, tiny_model_dir):
    """The real server the quickstart starts, with its options and the real client: every seed gets one journaled row
    in the form, and the server stays small (its cache is bounded for the model)."""
    pytest.importorskip("fastapi", reason="needs transformers[serving]")
    import psutil

    from dataset_builder.teacher.local_server import serve, toy_teacher_args

    max_tokens = 24
    with serve(tiny_model_dir, log_path=tmp_path / "serve.log", extra_args=toy_teacher_args()) as server:
        teacher = _teacher(tmp_path, server.model, server.base_url)
        rows, accounting, _ = run_backend(teacher, _requests(max_tokens), tmp_path / "journal.jsonl")
        rss = psutil.Process(server.pid).memory_info().rss
    assert sorted(rows) == [0, 1, 2] and accounting.rows == 3
    assert rss < 1.5 * 2**30, f"the toy teacher's server holds {rss / 2**30:.1f} GiB"
    log = (tmp_path / "serve.log").read_text()
    assert log.count("POST /v1/completions") == 6  # two per seed
    for row in rows.values():
        assert row["response"].startswith(PROBLEM_HEADER) and SOLUTION_HEADER in row["response"]
        assert row["finish_reason"] in {"stop", "length"}
        assert row["response"].endswith("\n```") == (row["finish_reason"] == "stop")
        assert row["teacher_model"] and row["prompt_tokens"] > 0
        assert 0 < row["completion_tokens"] <= PROBLEM_MAX_TOKENS + max_tokens
        assert _parse_row(row)["reason"] in {None, "truncated", "empty_problem", "empty_solution"}


def test_guided_tests_teacher_starts_the_answer_inside_a_fence(tmp_path, tiny_model_dir):
    from transformers import AutoTokenizer

    from dataset_builder import code_blocks, prompts
    from dataset_builder.teacher import get_backend

    tests_messages = prompts.tests_messages("Add.", "```rust\nfn add(a: i32, b: i32) -> i32 { a + b }\n```", "rust")
    request = Request(0, tests_messages, 976, 64, language="rust")
    assert request.body("m", 0.0, None) == Request(0, tests_messages, 976, 64).body("m", 0.0, None)  # never sent
    with TeacherServer() as server:
        settings = TeacherSettings(str(tiny_model_dir), server.base_url, 0.0, None, 2, 60, 0)
        teacher = get_backend("guided_local_tests")(settings, RunDir(tmp_path, "tests", "fp"))
        rows, accounting, _ = run_backend(teacher, [request], tmp_path / "tests.jsonl")
    (body,) = server.bodies
    rendered = AutoTokenizer.from_pretrained(tiny_model_dir).apply_chat_template(
        tests_messages, tokenize=False, add_generation_prompt=True
    )
    assert body["prompt"] == rendered + "```rust\n"
    assert body["stop"] == ["```"] and body["max_tokens"] == 64 and body["seed"] == 976
    row = rows[0]
    # the scripted server's text has a fence: the code is what comes before it, and the block is closed
    assert row["finish_reason"] == "stop" and row["response"].startswith("```rust\n[Problem Description]")
    assert row["response"].endswith("\n```") and code_blocks.code_in(row["response"], "rust")
    assert accounting.rows == 1 and row["prompt_tokens"] == len(body["prompt"]) // 4


def test_guided_solutions_teacher_starts_a_python_answer_without_the_tests_starter(tmp_path, tiny_model_dir):
    """The solutions stage's toy teacher: the same fence, but no `from solution import *` starter (that is tests')."""
    from transformers import AutoTokenizer

    from dataset_builder import code_blocks, prompts
    from dataset_builder.teacher import get_backend

    solution_messages = prompts.solution_messages("Write `add(a, b)`.", "python")
    request = Request(1003, solution_messages, 976 + 1003, 64, language="python")
    with TeacherServer() as server:
        settings = TeacherSettings(str(tiny_model_dir), server.base_url, 0.7, None, 2, 60, 0)
        teacher = get_backend("guided_local_solutions")(settings, RunDir(tmp_path, "solutions", "fp"))
        rows, _, _ = run_backend(teacher, [request], tmp_path / "solutions.jsonl")
    (body,) = server.bodies
    rendered = AutoTokenizer.from_pretrained(tiny_model_dir).apply_chat_template(
        solution_messages, tokenize=False, add_generation_prompt=True
    )
    assert body["prompt"] == rendered + "```python\n" and body["temperature"] == 0.7
    assert code_blocks.code_in(rows[1003]["response"], "python")
