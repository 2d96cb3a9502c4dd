"""The Magicoder paper's numbers and the Hub's names for the benchmarks, as data.

`BENCHMARKS` maps a score key (a benchmark of `results.json`, or that key + `_plus` for its EvalPlus tests) to its
display name, the Hub dataset it refers to, the task id of that dataset (`.eval_results/*.yaml`) and, where one Hub
dataset holds several benchmarks, its config (the `model-index` `dataset.config`). `PAPER` holds the paper's greedy
pass@1 in percent (Wei et al., 2024, "Magicoder: Empowering Code Generation with OSS-Instruct", §5), per model and
score key; a benchmark the paper does not report for a model is absent.
"""

from __future__ import annotations

from typing import NamedTuple


class Benchmark(NamedTuple):
    name: str  # display name, e.g. "HumanEval+"
    dataset_id: str  # Hub dataset id, e.g. "evalplus/humanevalplus"
    task_id: str  # the dataset's task id in `.eval_results/*.yaml`
    config: str | None = None  # Hub dataset config, where one dataset holds several benchmarks


MULTIPLE_LANGUAGES = {"java": "Java", "js": "JavaScript", "cpp": "C++", "php": "PHP", "swift": "Swift", "rust": "Rust"}

# In display order: the table lists benchmarks in this order.
BENCHMARKS: dict[str, Benchmark] = {
    "humaneval": Benchmark("HumanEval", "openai/openai_humaneval", "humaneval"),
    "humaneval_plus": Benchmark("HumanEval+", "evalplus/humanevalplus", "humanevalplus"),
    "mbpp": Benchmark("MBPP", "google-research-datasets/mbpp", "mbpp"),
    "mbpp_plus": Benchmark("MBPP+", "evalplus/mbppplus", "mbppplus"),
    **{
        f"multiple-{lang}": Benchmark(
            f"MultiPL-E {name}", "nuprl/MultiPL-E", f"humaneval-{lang}", config=f"humaneval-{lang}"
        )
        for lang, name in MULTIPLE_LANGUAGES.items()
    },
    "ds1000": Benchmark("DS-1000", "xlangai/DS-1000", "ds1000"),
    "apps": Benchmark("APPS (300)", "codeparrot/apps", "apps"),
}
# The benchmarks a results file can name (the `_plus` keys are the plus tests of humaneval and mbpp).
RESULT_KEYS = tuple(key for key in BENCHMARKS if not key.endswith("_plus"))


def _humaneval_mbpp(he: float, he_plus: float, mbpp: float, mbpp_plus: float) -> dict[str, float]:
    return {"humaneval": he, "humaneval_plus": he_plus, "mbpp": mbpp, "mbpp_plus": mbpp_plus}


def _multiple(*scores: float) -> dict[str, float]:
    return {f"multiple-{lang}": score for lang, score in zip(MULTIPLE_LANGUAGES, scores, strict=True)}


PAPER: dict[str, dict[str, float]] = {
    "CodeLlama-Python-7B": _humaneval_mbpp(37.8, 34.1, 57.6, 45.4),
    "Magicoder-CL-7B": _humaneval_mbpp(60.4, 55.5, 64.2, 52.6)
    | _multiple(36.4, 45.9, 36.5, 39.5, 33.4, 30.6)
    | {"ds1000": 29.9},
    "MagicoderS-CL-7B": _humaneval_mbpp(70.7, 66.5, 68.4, 56.6)
    | _multiple(42.9, 57.5, 44.4, 47.6, 44.1, 40.3)
    | {"ds1000": 37.5},
    "DeepSeek-Coder-6.7B-Base": _humaneval_mbpp(47.6, 39.6, 70.2, 56.6),
    "Magicoder-DS-6.7B": _humaneval_mbpp(66.5, 60.4, 75.4, 61.9),
    "MagicoderS-DS-6.7B": _humaneval_mbpp(76.8, 70.7, 75.7, 64.4) | {"apps": 13.3},
}
PAPER_URL = "https://arxiv.org/abs/2312.02120"
