"""The publish tests' upstream: rows in the parse schema and the run folders of the earlier stages written by hand
(so the publish and card tests do not depend on those stages' code), and the publish step as the pipeline runs it."""

from collections import Counter

import yaml

from dataset_builder.config import BuilderConfig
from dataset_builder.hub_push import push
from dataset_builder.pipeline import STAGES, stage_inputs
from dataset_builder.runs import DropCounter, RunDir, fingerprint
from dataset_builder.stages import publish
from dataset_builder.stages.parse import OUTPUT_COLUMNS


def parsed_row(i: int, lang: str, problem: str, solution: str) -> dict:
    return {
        "lang": lang,
        "raw_index": i,
        "index": i,
        "seed": f"x = {i}",
        "openai_fingerprint": "fp_fake",
        "problem": problem,
        "solution": solution,
        "source": "quickstart",
        "repository": "example/repo",
        "path": f"src/f{i}.{'py' if lang == 'python' else 'rs'}",
        "line_start": 1,
        "line_end": 3,
        "license": "mit",
        "teacher_model": "fake-teacher",
        "finish_reason": "stop",
        "prompt_tokens": 100 + i,
        "completion_tokens": 200 + i,
        "latency_s": 0.5 + i / 8,
        "solution_fence_closed": True,
    }


ROWS = [
    parsed_row(0, "python", "Write `add(a, b)`.", "```python\ndef add(a, b):\n    return a + b\n```"),
    parsed_row(1, "python", "Write a stub class.", "```python\nclass Base:\n    def run(self):\n        pass\n```"),
    parsed_row(2, "python", "Write `area`.", "```python\ndef area(r):\n    raise NotImplementedError\n```"),
    parsed_row(
        3, "python", "Make tests pass.", "All tests pass with:\n```python\ndef ok():\n    return 'pass'  # pass\n```"
    ),
    parsed_row(4, "rust", "Write `main`.", '```rust\nfn main() {\n    println!("hi");\n}\n```'),
    parsed_row(5, "cpp", "Fill in `f` (Python).", "```python\ndef f(x):\n    return x * 2\n```"),
]
NOISY = {1, 2}
PYTHON = {0, 1, 2, 3, 5}


def parse_features():
    from datasets import Features, Value

    ints = {"raw_index", "index", "line_start", "line_end", "prompt_tokens", "completion_tokens"}
    return Features(
        {c: Value("int64" if c in ints else "float64" if c == "latency_s" else "string") for c in OUTPUT_COLUMNS}
        | {"solution_fence_closed": Value("bool")}
    )


def make_config(out, **overrides) -> BuilderConfig:
    fields = {
        "output_dir": str(out),
        "teacher_model": "fake-teacher",
        "languages": {"python": 5, "rust": 1, "cpp": 1},
        "variants": ["python", "non_python", "no_noisy"],
        "dataset_license": "mit",
    }
    return BuilderConfig(**(fields | overrides))


def make_chain(out, rows, config: BuilderConfig, stages=("seeds", "generate", "parse", "clean", "decontaminate")):
    """Run folders of the earlier stages, written by hand: the last one holds `rows` in the parse schema."""
    from datasets import Dataset

    n = len(rows)
    stats = {
        "seeds": {
            "rows_in": n + 5,
            "kept": n + 2,
            "dropped": {"too_long": 3},
            "corpus": {"kind": "quickstart", "location": "quickstart"},
            "documents": {"kept": n + 2, "dropped": {"too_long": 3}, "seen": n + 5},
            "per_language": {"python": {"requested": 5, "selected": 5}, "rust": {"requested": 1, "selected": 1}},
        },
        "generate": {
            "rows_in": n + 2,
            "kept": n + 2,
            "dropped": {},
            "teacher": "fake-teacher",
            "usage": {"prompt_tokens": 1234},
        },
        "parse": {"rows_in": n + 2, "kept": n + 1, "dropped": {"truncated": 1}},
        "clean": {"rows_in": n + 1, "kept": n, "dropped": {"duplicate_seed": 1}},
        "decontaminate": {
            "rows_in": n,
            "kept": n,
            "dropped": {},
            "removed_by_benchmark": {},
            "benchmarks": {
                "humaneval": {"source": {"kind": "file", "path": "/home/someone/HumanEval.jsonl"}, "strings": 328}
            },
            "skipped_benchmarks": ["apps"],
        },
    }
    upstream = None
    for stage in stages:
        inputs = stage_inputs(stage, config) | {"rows": [r["problem"] for r in rows]}
        run_dir = RunDir(
            out, stage, fingerprint(stage, STAGES[stage].version, inputs, upstream and upstream.fingerprint)
        )
        run_dir.prepare(config.to_dict(), inputs, upstream)
        dataset = Dataset.from_dict({c: [r[c] for r in rows] for c in OUTPUT_COLUMNS}, features=parse_features())
        extras = dict(stats[stage])
        counts = DropCounter(extras.pop("kept"), Counter(extras.pop("dropped")), extras.pop("rows_in"))
        run_dir.save(dataset, Dataset.from_dict({"raw_index": [], "reason": []}), counts, **extras)
        upstream = run_dir
    return upstream


def build(config: BuilderConfig, upstream: RunDir) -> RunDir:
    """What the pipeline does for the publish stage: build unless complete, then push (the `reached` hook)."""
    inputs = stage_inputs("publish", config)
    run_dir = RunDir(
        config.output_dir, "publish", fingerprint("publish", STAGES["publish"].version, inputs, upstream.fingerprint)
    )
    if not run_dir.is_complete():
        run_dir.prepare(config.to_dict(), inputs, upstream)
        publish.run(config, run_dir, upstream)
    push(config, run_dir)
    return run_dir


def front_matter(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n", 2)[1])


def as_rows(dataset) -> list[dict]:
    return sorted(dataset.to_list(), key=lambda r: r["raw_index"])
