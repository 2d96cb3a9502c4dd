"""Score a model on the paper's benchmarks through the field's harnesses: `python -m eval --config recipes/eval/...`.

HumanEval(+) and MBPP(+) go through EvalPlus (generation with the paper's prompts here, sanitising and scoring there),
MultiPL-E, DS-1000 and APPS through bigcode-evaluation-harness (`eval/bigcode.py`). Every run writes its settings
next to its scores (`results.json`, `results.md`) and can update the model card's `model-index`. Model output is only
ever executed inside the harness's sandbox (`eval/sandbox.py`), never by this package.
"""
