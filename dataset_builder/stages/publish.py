"""Publish stage: the decontaminated rows as a dataset folder in Hub layout, and (optionally) a versioned push.

`run()` writes `hub/` in the run folder: `data/<config>/train-*.parquet` (config `default` holds every row; each name
in `variants` is another config), a `README.md` dataset card (YAML metadata for the Hub and `load_dataset`, and a
body that says how the data was made, gathered from every upstream run folder) and `build.json` (version, content
hash, changelog). `load_dataset(str(hub))` loads it.

`push()` sends that folder to `push_to_hub` and tags it `v{dataset_version}`. The run folder's fingerprint leaves
`push_to_hub` out, so the pipeline calls `push()` after the stage is complete, built now or earlier. Pushing a build
whose tag already holds the same content is a no-op; a different build under an existing tag, or a second version
without a changelog, is refused. Tokens come from huggingface_hub's usual lookup (`HF_TOKEN`, `hf auth login`) and
are never read, logged or written here.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import logging
import math
import re
import shutil
import tokenize
from collections import Counter
from pathlib import Path

from dataset_builder import prompts
from dataset_builder.config import BuilderConfig
from dataset_builder.runs import DropCounter, RunDir, write_json_atomic
from dataset_builder.stages.base import Stage

logger = logging.getLogger(__name__)

HUB_FOLDER = "hub"
BUILD_FILE = "build.json"
PUSHES_FILE = "pushes.json"
MAX_SHARD_BYTES = 500 << 20
VERSION_TAG = re.compile(r"^v\d+\.\d+\.\d+")
PYTHON_FENCE = "```python"
PYTHON_BLOCK = re.compile(r"```python[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
NOISY_NAMES = {"pass", "NotImplemented", "NotImplementedError"}
NOISY_FALLBACK = re.compile(r"\b(?:pass|NotImplemented(?:Error)?)\b")
SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"))
CITATION = """@inproceedings{wei2024magicoder,
  title = {Magicoder: Empowering Code Generation with {OSS-Instruct}},
  author = {Wei, Yuxiang and Wang, Zhe and Liu, Jiawei and Ding, Yifeng and Zhang, Lingming},
  booktitle = {Proceedings of the 41st International Conference on Machine Learning},
  series = {Proceedings of Machine Learning Research},
  volume = {235},
  year = {2024},
  eprint = {2312.02120},
  archivePrefix = {arXiv}
}"""


class PublishError(RuntimeError):
    """A push that must not happen as asked; the message says what to change in the recipe."""


# --- variants ---------------------------------------------------------------------------------------------------


def is_python(row: dict) -> bool:
    """Table 5's split: a row is Python when its problem or solution contains a ```python fence."""
    return PYTHON_FENCE in (row["problem"] or "") + (row["solution"] or "")


def _has_noisy_token(code: str) -> bool:
    try:
        return any(
            tok.type == tokenize.NAME and tok.string in NOISY_NAMES
            for tok in tokenize.generate_tokens(io.StringIO(code).readline)
        )
    except (tokenize.TokenError, IndentationError, SyntaxError):
        code = "\n".join(line.split("#", 1)[0] for line in code.splitlines())
        return bool(NOISY_FALLBACK.search(code))


def is_noisy(row: dict) -> bool:
    """Table 10 / §C.3: a Python problem whose solution code holds `pass` or `NotImplemented` tokens.

    Only code counts (the ```python blocks of the solution, or the whole solution when it has none), and only as
    Python tokens: `pass` in prose, comments or strings does not. `NotImplementedError` counts as the `raise
    NotImplementedError` placeholder is the usual form of partially implemented code.
    """
    if not is_python(row):
        return False
    solution = row["solution"] or ""
    blocks = PYTHON_BLOCK.findall(solution) or [solution]
    return any(_has_noisy_token(block) for block in blocks)


VARIANTS = {
    "python": is_python,
    "non_python": lambda row: not is_python(row),
    "no_noisy": lambda row: not is_noisy(row),
}


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


def _public_location(value) -> str | None:
    """A corpus location fit for a public card: Hub ids as they are, local paths by their last part only."""
    if value is None:
        return None
    text = str(value)
    if text.startswith(("/", "~", ".")) or "\\" in text or Path(text).exists():
        return f"a local corpus (`{Path(text).name}`)"
    return text


def _scrub(value):
    """A copy of stats/settings with local paths cut to their last part, for a public card."""
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, str) and value.startswith(("/", "~", "./", "../")):
        return f"<local>/{Path(value).name}"
    return value


def card_context(config: BuilderConfig, stages: dict[str, dict], dataset, configs: dict[str, int]) -> dict:
    """Everything the card says, as plain data (saved in build.json; part of the build hash)."""
    seeds = stages.get("seeds", {})
    seeds_recipe = seeds.get("config", {}).get("recipe", {})
    seeds_stats = seeds.get("stats") or {}
    generate = stages.get("generate", {})
    teacher = dict(generate.get("config", {}).get("fingerprint_inputs", {}))
    generate_recipe = generate.get("config", {}).get("recipe", {})
    decontaminate = stages.get("decontaminate")
    return {
        "name": config.dataset_name,
        "version": config.dataset_version,
        "changes": config.changelog,
        "license": config.dataset_license,
        "rows": len(dataset),
        "configs": configs,
        "corpus": {
            "corpus": _public_location(seeds_recipe.get("corpus")),
            "corpus_type": seeds_recipe.get("corpus_type"),
            "revision": seeds_recipe.get("corpus_revision"),
            "sources": {k: _public_location(v) for k, v in (seeds_recipe.get("corpus_sources") or {}).items()},
            "min_lines": seeds_recipe.get("min_lines"),
            "max_lines": seeds_recipe.get("max_lines"),
            "seed": seeds_recipe.get("seed"),
            "per_language": seeds_stats.get("per_language") or {},
        },
        "kind": "oss_instruct" if "generate" in stages else "evol_instruct" if "evol" in stages else "direct",
        "evol_source": (stages.get("evol", {}).get("stats") or {}).get("source"),
        "language_mix": dict(sorted(Counter(dataset["lang"]).items(), key=lambda kv: (-kv[1], kv[0])))
        if "lang" in dataset.column_names
        else {},
        "teacher": {
            "model": teacher.pop("teacher_model", generate_recipe.get("teacher_model")),
            "backend": generate_recipe.get("teacher_backend"),
            "system_prompt": teacher.pop("system_prompt", prompts.SYSTEM),
            "user_template": teacher.pop("user_template", prompts.USER_TEMPLATE),
            "decoding": teacher,
            "usage": _scrub((generate.get("stats") or {}).get("usage")),
        },
        "stages": stage_counts(stages),
        "decontamination": None
        if decontaminate is None
        else {
            "settings": _scrub(decontaminate.get("config", {}).get("fingerprint_inputs", {})),
            "stats": _scrub(decontaminate.get("stats") or {}),
        },
    }


# --- the card ---------------------------------------------------------------------------------------------------


def size_category(n: int) -> str:
    for limit, label in SIZE_CATEGORIES:
        if n < limit:
            return label
    return "n>1M" if n < 10_000_000 else "n>10M"


def _fmt(n) -> str:
    return "?" if n is None else f"{n:,}"


def _setting(value) -> str:
    return "not set" if value is None else str(value)


def _body(ctx: dict, build: dict, repo_id: str | None, history: list[dict]) -> str:
    tag = f"v{ctx['version']}"
    target = repo_id or "ORG/NAME"
    teacher, corpus = ctx["teacher"], ctx["corpus"]
    kind = ctx.get("kind", "oss_instruct")
    intro = {
        "oss_instruct": (
            f"{_fmt(ctx['rows'])} coding problems with solutions made with OSS-Instruct (Magicoder, Wei et al., ICML "
            "2024): a teacher model was shown a random snippet of open-source code and asked to write a "
            "self-contained problem inspired by it and a solution."
        ),
        "evol_instruct": (
            f"{_fmt(ctx['rows'])} Evol-Instruct instruction/response pairs, decontaminated as in Magicoder "
            "(Wei et al., ICML 2024), where they are the stage-2 data of MagicoderS."
        ),
        "direct": (
            f"{_fmt(ctx['rows'])} comment-function pairs mined from the seed documents, CodeSearchNet-style: the "
            "instruction is a function's signature and comment, the response its body (the direct-finetuning "
            "baseline of Magicoder, Table 6)."
        ),
    }[kind]
    lines = [
        f"# {ctx['name']}",
        "",
        f"{intro} Version **{ctx['version']}**.",
        "",
        "## How to load",
        "",
        "```python",
        "from datasets import load_dataset",
        "",
        f'ds = load_dataset("{target}", revision="{tag}", split="train")',
    ]
    lines += [
        f'{name} = load_dataset("{target}", "{name}", revision="{tag}", split="train")'
        for name in ctx["configs"]
        if name != "default"
    ]
    lines += [
        "```",
        "",
        "| config | rows | contents |",
        "|---|---|---|",
    ]
    about = {
        "default": "every row",
        "python": "rows whose problem or solution contains a ```` ```python ```` fence (paper Table 5)",
        "non_python": "the other rows (paper Table 5)",
        "no_noisy": "without Python rows whose solution code has `pass` / `NotImplemented` tokens (paper Table 10)",
    }
    lines += [f"| `{name}` | {_fmt(n)} | {about.get(name, '')} |" for name, n in ctx["configs"].items()]
    if ctx.get("empty_variants"):
        lines += ["", f"Left out because no row qualifies: {', '.join(f'`{v}`' for v in ctx['empty_variants'])}."]
    if kind == "evol_instruct":
        src = ctx.get("evol_source") or {}
        lines += [
            "",
            "## Source",
            "",
            (
                f"- Dataset: {_public_location(src.get('dataset'))}, split `{src.get('split')}`, revision "
                f"`{src.get('revision') or 'main'}`, mapped to `instruction`, `response`"
            ),
        ]
    else:
        lines += _corpus_lines(ctx, corpus)
    if kind == "oss_instruct":
        lines += _teacher_lines(teacher)
    lines += [
        "",
        "## Counts after every stage",
        "",
        "| stage | rows in | rows out | dropped (reason = rows) |",
        "|---|---|---|---|",
    ]
    return _rest(ctx, build, lines, tag, history)


def _corpus_lines(ctx: dict, corpus: dict) -> list[str]:
    lines = ["", "## Seed corpus and language mix", ""]
    source = corpus["corpus"] or "unknown"
    if corpus.get("revision"):
        source += f" (revision `{corpus['revision']}`)"
    lines += [
        f"- Corpus: {source}" + (f", type `{corpus['corpus_type']}`" if corpus.get("corpus_type") else ""),
        (
            f"- Snippets: {corpus.get('min_lines')}-{corpus.get('max_lines')} consecutive lines per document, "
            f"sampling seed {corpus.get('seed')}"
        ),
    ]
    lines += [f"- Language `{lang}` from {where}" for lang, where in sorted(corpus["sources"].items())]
    lines += ["", "| language | seeds requested | seeds selected | rows published |", "|---|---|---|---|"]
    per_language = corpus["per_language"]
    for lang in sorted(set(per_language) | set(ctx["language_mix"])):
        got = per_language.get(lang, {})
        lines.append(
            f"| {lang} | {_fmt(got.get('requested'))} | {_fmt(got.get('selected'))} | "
            f"{_fmt(ctx['language_mix'].get(lang, 0))} |"
        )
    return lines


def _teacher_lines(teacher: dict) -> list[str]:
    lines = ["", "## Teacher and decoding", ""]
    lines.append(
        f"- Teacher: `{teacher['model']}`" + (f" ({teacher['backend']} backend)" if teacher["backend"] else "")
    )
    decoding = teacher["decoding"]
    for key in ("temperature", "top_p", "max_tokens", "teacher_context_length"):
        if key in decoding:
            lines.append(f"- `{key}`: {_setting(decoding[key])}")
    if decoding.get("teacher_context_length"):
        lines.append("- Per request, `max_tokens = min(max_tokens, context length - prompt tokens)`")
    if "seed" in decoding:
        lines.append(f"- API seed: `{decoding['seed']} + raw_index` per row; one sample per seed snippet")
    if teacher.get("usage"):
        lines.append(f"- Usage: `{json.dumps(teacher['usage'], sort_keys=True)}`")
    lines += [
        "",
        "## Prompt",
        "",
        "System message, verbatim:",
        "",
        "````text",
        teacher["system_prompt"],
        "````",
        "",
        "User message, verbatim (`{code}` is the seed snippet):",
        "",
        "````text",
        teacher["user_template"],
        "````",
    ]
    return lines


def _rest(ctx: dict, build: dict, lines: list[str], tag: str, history: list[dict]) -> str:
    for stage, counts in ctx["stages"].items():
        drops = ", ".join(f"{k} = {_fmt(v)}" for k, v in sorted(counts["dropped"].items())) or "none"
        lines.append(f"| {stage} | {_fmt(counts['rows_in'])} | {_fmt(counts['kept'])} | {drops} |")
    lines.append(f"| publish | {_fmt(ctx['rows'])} | {_fmt(ctx['rows'])} | none |")
    if "seeds" in ctx["stages"]:
        lines += ["", "Seeds counts documents in and snippets out."]
    lines += ["", "## Decontamination", ""]
    decon = ctx["decontamination"]
    if decon is None:
        lines.append("**This build was not decontaminated**: no decontaminate stage is upstream of it.")
    else:
        settings, stats = decon["settings"], decon["stats"]
        lines.append(
            "Case-insensitive exact substring match of benchmark strings in "
            + (
                "problem + solution "
                if ctx.get("kind", "oss_instruct") == "oss_instruct"
                else "instruction + response "
            )
            + "(the StarCoder / bigcode-dataset logic the paper uses)."
        )
        lines.append("")
        if settings.get("benchmarks"):
            lines.append(f"- Benchmarks: {', '.join(f'`{b}`' for b in settings['benchmarks'])}")
        if settings.get("skip_benchmarks"):
            lines.append(f"- Left out on purpose: {', '.join(f'`{b}`' for b in settings['skip_benchmarks'])}")
        if settings.get("decontamination_ngram"):
            lines.append(f"- Also word {settings['decontamination_ngram']}-gram overlap (not in the paper)")
        counts = ctx["stages"].get("decontaminate", {})
        removed = sum(v for v in counts.get("dropped", {}).values() if isinstance(v, int))
        lines.append(f"- Rows removed: {_fmt(removed)}")
        skipped = stats.get("skipped_benchmarks") or []
        if isinstance(stats.get("benchmarks"), dict):
            by = stats.get("removed_by_benchmark") or {}
            lines += ["", "| benchmark | source | strings | rows removed |", "|---|---|---|---|"]
            for name, info in stats["benchmarks"].items():
                src = info.get("source") or {}
                where = " ".join(str(v) for v in (src.get("kind"), src.get("package") or src.get("path")) if v)
                n = sum((by.get(name) or {}).values())
                lines.append(f"| {name} | {where or '?'} | {_fmt(info.get('strings'))} | {_fmt(n)} |")
            lines += [f"| {name} | not checked (skipped on purpose) | - | - |" for name in skipped]
        else:  # another shape of stats: show it as it is
            lines += ["", "```json", json.dumps(stats, indent=2, sort_keys=True), "```"]
    if ctx.get("analysis_section"):
        lines += ["", "## Analysis", "", ctx["analysis_section"]]
    lines += [
        "",
        "## Fingerprint",
        "",
        f"- Build: `{build['fingerprint']}` (hash of the recipe of every stage)",
        f"- Data: `sha256:{build['content_hash']}` (hash of every row and the features)",
        f"- Version: `{ctx['version']}` (tag `{tag}`)",
        "",
        "## Changelog",
        "",
    ]
    for entry in history:
        lines.append(f"- **{entry['version']}**: {entry['changes']}")
    lines += ["", "## Citation", "", "```bibtex", CITATION, "```", ""]
    return "\n".join(lines)


def render_card(ctx: dict, build: dict, features_yaml: dict, repo_id: str | None, history: list[dict]):
    """The dataset card: YAML metadata (configs, dataset_info, ...) and the body."""
    from huggingface_hub import DatasetCard, DatasetCardData

    names = list(ctx["configs"])
    card_data = DatasetCardData(
        pretty_name=ctx["name"],
        license=ctx["license"],
        language=["en", "code"],
        task_categories=["text-generation"],
        tags=["code", "synthetic", "oss-instruct", "magicoder"],
        size_categories=[size_category(ctx["rows"])],
        configs=[
            {
                "config_name": name,
                "data_files": [{"split": "train", "path": f"data/{name}/train-*.parquet"}],
                **({"default": True} if name == "default" else {}),
            }
            for name in names
        ],
        dataset_info=[
            {
                "config_name": name,
                "features": copy.deepcopy(features_yaml),  # copies: no YAML anchors in the card
                # `datasets` reads the split info only with all three fields (num_bytes: the Arrow table's size)
                "splits": [
                    {"name": "train", "num_examples": ctx["configs"][name]}
                    | ({"num_bytes": build["config_bytes"][name]} if name in build.get("config_bytes", {}) else {})
                ],
            }
            for name in names
        ],
    )
    return DatasetCard(f"---\n{card_data.to_yaml()}\n---\n\n{_body(ctx, build, repo_id, history)}")


# --- the stage --------------------------------------------------------------------------------------------------


def content_hash(dataset) -> str:
    """sha256 of the features and every row, independent of the Parquet writer's version."""
    digest = hashlib.sha256(json.dumps(dataset.features.to_dict(), sort_keys=True).encode())
    for batch in dataset.iter(batch_size=1_000):
        digest.update(json.dumps(batch, sort_keys=True, ensure_ascii=False, default=str).encode())
    return digest.hexdigest()


def _write_shards(dataset, folder: Path) -> int:
    folder.mkdir(parents=True)
    # a filtered dataset shares its parent's table: scale the table's size to the rows it keeps
    nbytes = dataset.data.nbytes * len(dataset) / max(1, dataset.data.num_rows)
    n = max(1, min(len(dataset), math.ceil(nbytes / MAX_SHARD_BYTES)))
    for i in range(n):
        shard = dataset.shard(n, i, contiguous=True)
        shard.to_parquet(str(folder / f"train-{i:05d}-of-{n:05d}.parquet"))
    return n


def _write_text(path: Path, text: str) -> None:
    path.write_text(text if text.endswith("\n") else text + "\n")


def _copy_figures(stages: dict[str, dict], target: Path) -> str | None:
    """Copy the analyze stage's PNGs beside the card; the card's analysis section, or None without that stage."""
    stats = (stages.get("analyze") or {}).get("stats") or {}
    if not stats.get("analysis"):
        return None
    from dataset_builder.stages.analyze import card_section

    target.mkdir(parents=True, exist_ok=True)
    for path in map(Path, (stats.get("figures") or {}).values()):
        if path.suffix == ".png":
            shutil.copy2(path, target / path.name)
    return card_section(stats["analysis"], "figures")


def run(config: BuilderConfig, run_dir: RunDir, upstream: RunDir) -> None:
    from datasets import Dataset

    unknown = sorted(set(config.variants) - set(VARIANTS))
    if unknown:
        raise PublishError(f"Unknown variants {unknown}: use {', '.join(VARIANTS)}.")
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
        shards[name] = _write_shards(part, tmp / "data" / name)
        configs[name] = len(part)
        config_bytes[name] = (dataset if name == "default" else part.flatten_indices()).data.nbytes

    ctx = card_context(config, stages, dataset, configs) | {"empty_variants": empty_variants}
    ctx["analysis_section"] = _copy_figures(stages, tmp / "figures")
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
    }
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


# --- push -------------------------------------------------------------------------------------------------------


def _remote_build(api, repo_id: str, revision: str) -> dict | None:
    from huggingface_hub.errors import EntryNotFoundError

    try:
        path = api.hf_hub_download(repo_id, BUILD_FILE, repo_type="dataset", revision=revision)
    except EntryNotFoundError:
        return None
    return json.loads(Path(path).read_text())


def _record_push(run_dir: RunDir, record: dict) -> None:
    path = run_dir.path / PUSHES_FILE
    pushes = json.loads(path.read_text()) if path.exists() else []
    write_json_atomic(path, [*pushes, record])


def push(config: BuilderConfig, run_dir: RunDir) -> dict | None:
    """Push the complete run folder's `hub/` to `config.push_to_hub` and tag it; None when there is nowhere to push."""
    if not config.push_to_hub:
        return None
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

    hub = run_dir.path / HUB_FOLDER
    if not hub.exists():
        raise PublishError(
            f"Nothing to push to {config.push_to_hub}: the build has no rows (see {run_dir.stats_path})."
        )
    build = json.loads((hub / BUILD_FILE).read_text())
    repo_id, version = config.push_to_hub, build["version"]
    tag = f"v{version}"
    api = HfApi()

    api.create_repo(repo_id, repo_type="dataset", private=config.hub_private, exist_ok=True)
    info = api.repo_info(repo_id, repo_type="dataset")
    if config.hub_private and not info.private:
        raise PublishError(f"{repo_id} exists and is public, but hub_private is set: make it private first.")
    refs = api.list_repo_refs(repo_id, repo_type="dataset")
    tags = {ref.name: ref.target_commit for ref in refs.tags}
    head = next((ref.target_commit for ref in refs.branches if ref.name == "main"), None)

    if tag in tags:
        remote = _remote_build(api, repo_id, tags[tag])
        if remote is not None and remote.get("build_hash") == build["build_hash"]:
            logger.info("publish: %s already holds this build as %s (nothing to push)", repo_id, tag)
            record = {"repo_id": repo_id, "tag": tag, "commit": tags[tag], "pushed": False}
            _record_push(run_dir, record)
            return record
        raise PublishError(
            f"{repo_id} already has {tag} with different content. Set a new `dataset_version` (e.g. a higher one "
            f"than {version}) and say what changed in `changelog`."
        )
    earlier = sorted(t for t in tags if VERSION_TAG.match(t))
    if earlier and not build["card"]["changes"]:
        raise PublishError(
            f"{repo_id} already has {', '.join(earlier)}: give `changelog` (what changed in {version}) to publish it."
        )

    remote_head = _remote_build(api, repo_id, head) if head else None
    history = build["changelog"] + [e for e in (remote_head or {}).get("changelog", []) if e["version"] != version]
    pushed_build = {**build, "changelog": history}
    card = render_card(build["card"], build, build["features"], repo_id, history)
    local = sorted(p.relative_to(hub).as_posix() for p in hub.rglob("*") if p.is_file())
    operations = [CommitOperationAdd(path, str(hub / path)) for path in local if path not in ("README.md", BUILD_FILE)]
    operations += [
        CommitOperationAdd("README.md", str(card).encode() + b"\n"),
        CommitOperationAdd(BUILD_FILE, json.dumps(pushed_build, indent=2, sort_keys=True).encode()),
    ]
    remote_files = api.list_repo_files(repo_id, repo_type="dataset", revision=head) if head else []
    stale = [p for p in remote_files if p.startswith(("data/", "figures/")) and p not in local]
    operations += [CommitOperationDelete(path) for path in stale]
    commit = api.create_commit(
        repo_id,
        operations,
        commit_message=f"Publish {build['name']} {tag}",
        commit_description=build["changelog"][0]["changes"],
        repo_type="dataset",
        parent_commit=head,
    )
    api.create_tag(repo_id, tag=tag, revision=commit.oid, repo_type="dataset", tag_message=f"{build['name']} {tag}")
    logger.info("publish: pushed %s %s (commit %s)", repo_id, tag, commit.oid)
    record = {"repo_id": repo_id, "tag": tag, "commit": commit.oid, "pushed": True}
    _record_push(run_dir, record)
    return record


class Publish(Stage):
    """Writes the dataset in Hub layout with its card; pushes it to `push_to_hub` each time it is reached."""

    name = "publish"
    version = 1
    run = staticmethod(run)

    def reached(self, config: BuilderConfig, run_dir: RunDir) -> None:
        push(config, run_dir)
