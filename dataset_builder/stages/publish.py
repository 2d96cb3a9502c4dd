"""Publish stage: the decontaminated rows as a dataset folder in Hub layout, and (optionally) a versioned push.

`run()` writes `hub/` in the run folder: `data/<config>/train-*.parquet` (config `default` holds every row; each name
in `variants` is another config, see `dataset_builder.variants`), a `README.md` dataset card (`dataset_builder.
dataset_card`, from a context gathered here from every upstream run folder) and `build.json` (version, content hash,
changelog). `load_dataset(str(hub))` loads it.

`push()` (`dataset_builder.hub_push`) sends that folder to `push_to_hub` and tags it `v{dataset_version}`. The run
folder's fingerprint leaves `push_to_hub` out, so the pipeline calls it after the stage is complete, built now or
earlier.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections import Counter
from pathlib import Path

from dataset_builder import licenses, preference, prompts, verification_report
from dataset_builder.config import BuilderConfig
from dataset_builder.dataset_card import public_location, render_card
from dataset_builder.hub_layout import BUILD_FILE, HUB_FOLDER, content_hash, write_shards
from dataset_builder.hub_push import push
from dataset_builder.runs import DropCounter, RunDir, write_json_atomic
from dataset_builder.stages.base import Stage
from dataset_builder.stages.generate import LOCAL_TEACHER
from dataset_builder.variants import VARIANTS

logger = logging.getLogger(__name__)


# --- lineage ----------------------------------------------------------------------------------------------------


def lineage(run_path: Path) -> dict[str, dict]:
    """{stage: {"config", "stats"}} of a run folder and every folder upstream of it, first stage first."""
    return {
        run.stage: {"config": run.config(), "stats": run.stats() if run.is_complete() else None}
        for run in RunDir.at(run_path).lineage()
    }


def stage_counts(stages: dict[str, dict]) -> dict[str, dict]:
    """Rows in, rows out and drops per reason of each stage, as every stats.json starts (`RunDir.save`); unknown
    ("?" on the card) for a run folder completed before stages recorded them."""
    counts = {}
    for stage, info in stages.items():
        stats = info.get("stats") or {}
        counts[stage] = {key: stats.get(key) for key in ("rows_in", "kept")} | {"dropped": stats.get("dropped") or {}}
    return counts


def seed_licenses(dataset, run_path: Path) -> dict | None:
    """{"counts", "unit"}: rows per seed licence from the rows' `license` column, else seeds per licence from the
    seeds run folder upstream of `run_path` (rows mined from seeds keep no licence column); None without seeds."""
    if "license" in dataset.column_names:
        return {"counts": licenses.tally(dataset["license"]), "unit": "rows"}
    seeds = next((run for run in RunDir.at(run_path).lineage() if run.stage == "seeds"), None)
    if seeds is None:
        return None
    return {"counts": licenses.tally(seeds.load()["license"]), "unit": "seeds"}


def _scrub(value):
    """A copy of stats/settings with local paths cut to their last part, for a public card."""
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, str) and value.startswith(("/", "~", "./", "../")):
        return f"<local>/{Path(value).name}"
    return value


def kind(stages: dict[str, dict]) -> str:
    """Which card introduction fits the lineage (`dataset_card.INTRO`)."""
    if "generate" in stages:
        return "oss_instruct"
    if "evol" in stages:
        return "evol_instruct"
    if "source" in stages:  # the verify pipeline: an existing dataset, run against teacher-written tests
        return "verify"
    return "direct"


def card_context(config: BuilderConfig, stages: dict[str, dict], dataset, configs: dict[str, int]) -> dict:
    """Everything the card says, as plain data (saved in build.json; part of the build hash)."""
    seeds = stages.get("seeds", {})
    seeds_recipe = seeds.get("config", {}).get("recipe", {})
    seeds_stats = seeds.get("stats") or {}
    generate = stages.get("generate", {})
    teacher = dict(generate.get("config", {}).get("fingerprint_inputs", {}))
    generate_recipe = generate.get("config", {}).get("recipe", {})
    decontaminate = stages.get("decontaminate")
    teacher_model = teacher.pop("teacher_model", generate_recipe.get("teacher_model"))
    if "generate" not in stages and "tests" in stages:  # verify: the teacher wrote only the tests
        tests = stages["tests"].get("config", {})
        teacher_model = (tests.get("fingerprint_inputs") or {}).get("teacher_model") or (
            tests.get("recipe") or {}
        ).get("teacher_model")
    ctx = {
        "name": config.dataset_name,
        "version": config.dataset_version,
        "changes": config.changelog,
        "license": config.dataset_license,  # None: `other` on the card, which says why
        "rows": len(dataset),
        "configs": configs,
        "corpus": {
            "corpus": public_location(seeds_recipe.get("corpus")),
            "corpus_type": seeds_recipe.get("corpus_type"),
            "revision": seeds_recipe.get("corpus_revision"),
            "sources": {k: public_location(v) for k, v in (seeds_recipe.get("corpus_sources") or {}).items()},
            "min_lines": seeds_recipe.get("min_lines"),
            "max_lines": seeds_recipe.get("max_lines"),
            "seed": seeds_recipe.get("seed"),
            "per_language": seeds_stats.get("per_language") or {},
        },
        "kind": kind(stages),
        "evol_source": (stages.get("evol", {}).get("stats") or {}).get("source"),
        "language_mix": dict(sorted(Counter(dataset["lang"]).items(), key=lambda kv: (-kv[1], kv[0])))
        if "lang" in dataset.column_names
        else {},
        "teacher": {
            "model": teacher_model,
            "backend": generate_recipe.get("teacher_backend"),
            "system_prompt": teacher.pop("system_prompt", prompts.SYSTEM),
            "user_template": teacher.pop("user_template", prompts.USER_TEMPLATE),
            "decoding": teacher,
            "usage": _scrub((generate.get("stats") or {}).get("usage")),
        },
        "toy_teacher": str(teacher_model).startswith(LOCAL_TEACHER),
        "stages": stage_counts(stages),
        "decontamination": None
        if decontaminate is None
        else {
            "settings": _scrub(decontaminate.get("config", {}).get("fingerprint_inputs", {})),
            "stats": _scrub(decontaminate.get("stats") or {}),
        },
    }
    if ctx["kind"] == "verify":  # only then: the context of the other kinds stays as it was (build.json, hash)
        recipe = stages["source"].get("config", {}).get("recipe", {})
        ctx["verify_source"] = {key: recipe.get(f"verify_{key}") for key in ("revision", "split", "max_rows")}
        ctx["verify_source"]["dataset"] = public_location(recipe.get("verify_dataset"))
    return ctx


# --- the stage -------------------------------------------------------------------------------------------------------


def _write_text(path: Path, text: str) -> None:
    path.write_text(text if text.endswith("\n") else text + "\n")


def _copy_figures(stages: dict[str, dict], target: Path) -> str | None:
    """Copy the analyze stage's PNGs beside the card; the card's analysis section, or None without that stage."""
    stats = (stages.get("analyze") or {}).get("stats") or {}
    if not stats.get("analysis"):
        return None
    from dataset_builder.figures import card_section

    target.mkdir(parents=True, exist_ok=True)
    for path in map(Path, (stats.get("figures") or {}).values()):
        if path.suffix == ".png":
            shutil.copy2(path, target / path.name)
    return card_section(stats["analysis"], "figures")


def _verification(upstream: RunDir, dataset, target: Path) -> dict:
    """The Verification section's numbers (`verification_report`), its figure written into `target`."""
    from dataset_builder import verification_samples as vs

    rep = verification_report.report(upstream.lineage(), dataset)
    verification_report.plot(rep, target / verification_report.FIGURE)
    rep["figure"] = f"{target.name}/{verification_report.FIGURE}"
    if rep.get("samples"):
        title, xlabel = "Problems per pass rate of their samples", "Problems"
        vs.plot_bins(rep["samples"]["by_language"], title, xlabel, target / vs.PASS_RATE_FIGURE)
        rep["samples"]["figure"] = f"{target.name}/{vs.PASS_RATE_FIGURE}"
    if rep.get("mutation"):
        title, xlabel = "Passing rows per mutation score of their tests", "Rows"
        vs.plot_bins(rep["mutation"]["by_language"], title, xlabel, target / vs.MUTATION_FIGURE)
        rep["mutation"]["figure"] = f"{target.name}/{vs.MUTATION_FIGURE}"
    return rep


def run(config: BuilderConfig, run_dir: RunDir, upstream: RunDir) -> None:
    from datasets import Dataset

    dataset = upstream.load()
    stages = lineage(upstream.path)
    empty = Dataset.from_dict({"raw_index": [], "reason": []})
    if len(dataset) == 0:  # `datasets` cannot load a dataset without rows: finish, say so, publish nothing
        logger.warning("publish: no rows survived the upstream stages; nothing to publish (see the counts)")
        run_dir.save(dataset, empty, DropCounter(), published=False)
        return

    hub = run_dir.path / HUB_FOLDER
    tmp = hub.with_name(HUB_FOLDER + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    configs, config_bytes, shards, empty_variants = {}, {}, {}, []
    for name in ["default", *dict.fromkeys(config.variants)]:
        part = dataset if name == "default" else dataset.filter(VARIANTS[name], desc=f"publish: {name}")
        if len(part) == 0:  # `datasets` cannot load a split without rows: leave the config out and say so
            logger.warning("publish: variant %s has no rows and is left out", name)
            empty_variants.append(name)
            continue
        shards[name] = write_shards(part, tmp / "data" / name)
        configs[name] = len(part)
        config_bytes[name] = (dataset if name == "default" else part.flatten_indices()).data.nbytes
    config_features = {}  # configs of another schema than the rows'
    # the sample columns are this build's: a verify source's own are source_<name> (stages.source)
    pairs, pair_stats = preference.pairs(dataset, config.preference_pairs_per_problem)
    if pairs is not None:  # several solutions per problem, some passing and some not
        shards["preference"] = write_shards(pairs, tmp / "data" / "preference")
        configs["preference"] = len(pairs)
        config_bytes["preference"] = pairs.data.nbytes
        config_features["preference"] = pairs.features._to_yaml_list()

    ctx = card_context(config, stages, dataset, configs) | {"empty_variants": empty_variants}
    ctx["seed_licenses"] = seed_licenses(dataset, upstream.path)
    if ctx["seed_licenses"] and (warning := licenses.warning(**ctx["seed_licenses"])):
        logger.warning("publish: %s", warning)
    ctx["analysis_section"] = _copy_figures(stages, tmp / "figures")
    if "execute" in stages:  # only then: the card of a build without verification stays as it was
        ctx["verification"] = _verification(upstream, dataset, tmp / "figures")
        if pair_stats and ctx["verification"].get("samples"):
            ctx["verification"]["samples"]["preference"] = pair_stats
    data_hash = content_hash(dataset)
    build = {
        "name": config.dataset_name,
        "version": config.dataset_version,
        "fingerprint": run_dir.fingerprint,
        "content_hash": data_hash,
        "configs": configs,
        "config_bytes": config_bytes,
        "build_hash": hashlib.sha256(
            json.dumps({"content_hash": data_hash, "card": ctx}, sort_keys=True, default=str).encode()
        ).hexdigest(),
        "changelog": [{"version": config.dataset_version, "changes": config.changelog or "First release."}],
        "card": ctx,
        "features": dataset.features._to_yaml_list(),
    } | ({"config_features": config_features} if config_features else {})
    card = render_card(ctx, build, build["features"], None, build["changelog"])
    _write_text(tmp / "README.md", str(card))
    write_json_atomic(tmp / BUILD_FILE, build)
    shutil.rmtree(hub, ignore_errors=True)
    tmp.rename(hub)

    run_dir.save(
        dataset,
        empty,
        DropCounter(kept=len(dataset)),
        configs=configs,
        shards=shards,
        empty_variants=empty_variants,
        content_hash=data_hash,
        build_hash=build["build_hash"],
        version=config.dataset_version,
        hub_folder=str(hub),
    )
    logger.info(
        "publish: %s v%s, %s -> %s",
        config.dataset_name,
        config.dataset_version,
        ", ".join(f"{k}={v}" for k, v in configs.items()),
        hub,
    )


class Publish(Stage):
    """Writes the dataset in Hub layout with its card; pushes it to `push_to_hub` each time it is reached."""

    name = "publish"
    version = 1
    run = staticmethod(run)

    def reached(self, config: BuilderConfig, run_dir: RunDir) -> None:
        push(config, run_dir)
