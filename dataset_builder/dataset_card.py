"""The dataset card: YAML metadata for the Hub and `load_dataset`, and a body that says how the data was made.

Everything the body says comes from the card context (`publish.card_context`, plain data kept in `build.json`); the
body is rendered section by section in `card_body`.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from dataset_builder import licenses, verification_card
from oss_common.card import CITATION, TOY_TEACHER_NOTICE
from oss_common.names import is_local

SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"))
INTRO = {
    "oss_instruct": (
        "{rows} coding problems with solutions made with OSS-Instruct (Magicoder, Wei et al., ICML 2024): a teacher "
        "model was shown a random snippet of open-source code and asked to write a self-contained problem inspired by "
        "it and a solution."
    ),
    "evol_instruct": (
        "{rows} Evol-Instruct instruction/response pairs, decontaminated as in Magicoder (Wei et al., ICML 2024), "
        "where they are the stage-2 data of MagicoderS."
    ),
    "direct": (
        "{rows} comment-function pairs mined from the seed documents, CodeSearchNet-style: the instruction is a "
        "function's signature and comment, the response its body (the direct-finetuning baseline of Magicoder, "
        "Table 6)."
    ),
    "verify": (
        "{rows} coding problems with solutions from an existing dataset (below), each solution run against tests a "
        "teacher model wrote for it."
    ),
}
CONFIG_CONTENTS = {
    "default": "every row",
    "python": "rows whose problem or solution contains a ```` ```python ```` fence (paper Table 5)",
    "non_python": "the other rows (paper Table 5)",
    "no_noisy": "without Python rows whose solution code has `pass` / `NotImplemented` tokens (paper Table 10)",
    "preference": (
        "(chosen, rejected) pairs for DPO in TRL's conversational preference format: a passing and a failing "
        "solution of one problem (`prompt`, `chosen`, `rejected`; see Verification)"
    ),
}


def public_location(value) -> str | None:
    """A corpus location fit for a public card: Hub ids as they are, local paths by their last part only."""
    if value is None:
        return None
    text = str(value)
    if is_local(text):
        return f"a local corpus (`{Path(text).name}`)"
    return text


def size_category(n: int) -> str:
    for limit, label in SIZE_CATEGORIES:
        if n < limit:
            return label
    return "n>1M" if n < 10_000_000 else "n>10M"


def render_card(ctx: dict, build: dict, features_yaml: dict, repo_id: str | None, history: list[dict]):
    """The dataset card: YAML metadata (configs, dataset_info, ...) and the body."""
    from huggingface_hub import DatasetCard, DatasetCardData

    names = list(ctx["configs"])
    card_data = DatasetCardData(
        pretty_name=ctx["name"],
        license=ctx["license"] or "other",
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
                # copies: no YAML anchors in the card; a config of another schema (preference) has its own
                "features": copy.deepcopy(build.get("config_features", {}).get(name, features_yaml)),
                # `datasets` reads the split info only with all three fields (num_bytes: the Arrow table's size)
                "splits": [
                    {"name": "train", "num_examples": ctx["configs"][name]}
                    | ({"num_bytes": build["config_bytes"][name]} if name in build.get("config_bytes", {}) else {})
                ],
            }
            for name in names
        ],
    )
    return DatasetCard(f"---\n{card_data.to_yaml()}\n---\n\n{card_body(ctx, build, repo_id, history)}")


def card_body(ctx: dict, build: dict, repo_id: str | None, history: list[dict]) -> str:
    """The card's markdown, top to bottom; `repo_id` None (a local build) shows `ORG/NAME` in the loading code."""
    kind = ctx.get("kind", "oss_instruct")
    tag = f"v{ctx['version']}"
    lines = [TOY_TEACHER_NOTICE, ""] if ctx.get("toy_teacher") else []
    intro = INTRO[kind].format(rows=_fmt(ctx["rows"]))
    verification = ctx.get("verification")
    if verification:
        intro += " " + verification_card.summary(verification)
    lines += [f"# {ctx['name']}", "", f"{intro} Version **{ctx['version']}**."]
    lines += _section("How to load", _how_to_load(ctx, repo_id or "ORG/NAME", tag))
    if kind == "evol_instruct":
        lines += _section("Source", _source(ctx.get("evol_source") or {}))
    elif kind == "verify":
        lines += _section("Source", _verify_source(ctx.get("verify_source") or {}, ctx["language_mix"]))
    else:
        lines += _section("Seed corpus and language mix", _corpus(ctx["corpus"], ctx["language_mix"]))
    lines += _section("Licence", _license(ctx, kind))
    if kind == "oss_instruct":
        lines += _section("Teacher and decoding", _teacher(ctx["teacher"]))
        lines += _section("Prompt", _prompt(ctx["teacher"]))
    if verification:
        lines += _section("Verification", verification_card.card_section(verification))
    lines += _section("Counts after every stage", _counts(ctx))
    lines += _section("Decontamination", _decontamination(ctx, kind))
    if ctx.get("analysis_section"):  # the analyze stage's markdown, under its own "## Analysis" heading
        lines += ["", ctx["analysis_section"]]
    lines += _section(
        "Fingerprint",
        [
            f"- Build: `{build['fingerprint']}` (hash of the recipe of every stage)",
            f"- Data: `sha256:{build['content_hash']}` (hash of every row and the features)",
            f"- Version: `{ctx['version']}` (tag `{tag}`)",
        ],
    )
    lines += _section("Changelog", [f"- **{entry['version']}**: {entry['changes']}" for entry in history])
    lines += _section("Citation", ["```bibtex", CITATION, "```", ""])
    return "\n".join(lines)


# --- the sections -----------------------------------------------------------------------------------------------


def _section(title: str, lines: list[str]) -> list[str]:
    return ["", f"## {title}", "", *lines]


def _fmt(n) -> str:
    return "?" if n is None else f"{n:,}"


def _setting(value) -> str:
    return "not set" if value is None else str(value)


def _how_to_load(ctx: dict, target: str, tag: str) -> list[str]:
    lines = ["```python", "from datasets import load_dataset", ""]
    lines.append(f'ds = load_dataset("{target}", revision="{tag}", split="train")')
    lines += [
        f'{name} = load_dataset("{target}", "{name}", revision="{tag}", split="train")'
        for name in ctx["configs"]
        if name != "default"
    ]
    lines += ["```", "", "| config | rows | contents |", "|---|---|---|"]
    lines += [f"| `{name}` | {_fmt(n)} | {CONFIG_CONTENTS.get(name, '')} |" for name, n in ctx["configs"].items()]
    if ctx.get("empty_variants"):
        lines += ["", f"Left out because no row qualifies: {', '.join(f'`{v}`' for v in ctx['empty_variants'])}."]
    return lines


def _source(src: dict) -> list[str]:
    dataset = public_location(src.get("dataset"))
    revision = src.get("revision") or "main"
    split = src.get("split")
    return [f"- Dataset: {dataset}, split `{split}`, revision `{revision}`, mapped to `instruction`, `response`"]


def _verify_source(src: dict, language_mix: dict) -> list[str]:
    dataset = src.get("dataset") or "unknown"  # already public (`publish.card_context`)
    lines = [f"- Dataset: {dataset}, split `{src.get('split')}`, revision `{src.get('revision') or 'main'}`"]
    if src.get("max_rows"):
        lines.append(f"- A seeded random sample of {_fmt(src['max_rows'])} rows")
    lines += ["", "| language | rows published |", "|---|---|"]
    lines += [f"| {lang} | {_fmt(n)} |" for lang, n in language_mix.items()]
    return lines


def _corpus(corpus: dict, language_mix: dict) -> list[str]:
    source = corpus["corpus"] or "unknown"
    if corpus.get("revision"):
        source += f" (revision `{corpus['revision']}`)"
    lines = [
        f"- Corpus: {source}" + (f", type `{corpus['corpus_type']}`" if corpus.get("corpus_type") else ""),
        (
            f"- Snippets: {corpus.get('min_lines')}-{corpus.get('max_lines')} consecutive lines per document, "
            f"sampling seed {corpus.get('seed')}"
        ),
    ]
    lines += [f"- Language `{lang}` from {where}" for lang, where in sorted(corpus["sources"].items())]
    lines += ["", "| language | seeds requested | seeds selected | rows published |", "|---|---|---|---|"]
    per_language = corpus["per_language"]
    for lang in sorted(set(per_language) | set(language_mix)):
        got = per_language.get(lang, {})
        lines.append(
            f"| {lang} | {_fmt(got.get('requested'))} | {_fmt(got.get('selected'))} | "
            f"{_fmt(language_mix.get(lang, 0))} |"
        )
    return lines


ORIGINS = {
    "oss_instruct": (
        "seed snippets, each under its own licence (below), and from the teacher's outputs, under the terms of the "
        "teacher's provider"
    ),
    "evol_instruct": "the source dataset above, under its own licence and the terms of the model that wrote it",
    "direct": "functions mined from the seed documents, each under its own licence (below)",
    "verify": (
        "the source dataset above, under its own licence, and from the teacher's tests, under the terms of the "
        "teacher's provider"
    ),
}


def _license(ctx: dict, kind: str) -> list[str]:
    origin = f"The rows derive from {ORIGINS[kind]}."
    if ctx.get("license"):
        lines = [f"Declared by the recipe: `{ctx['license']}`. {origin} Check that those terms allow it."]
    else:
        lines = [
            (
                f"`license: other`: no single licence covers this dataset. {origin} Check those terms before use; "
                "a recipe states a licence with `dataset_license`."
            )
        ]
    found = ctx.get("seed_licenses")
    if found is None:
        return lines
    lines += ["", f"| seed licence | {found['unit']} |", "|---|---|"]
    lines += [f"| {name} | {_fmt(n)} |" for name, n in found["counts"].items()]
    if warning := licenses.warning(**found):
        lines += ["", f"**Warning**: {warning}"]
    return lines


def _teacher(teacher: dict) -> list[str]:
    lines = [f"- Teacher: `{teacher['model']}`" + (f" ({teacher['backend']} backend)" if teacher["backend"] else "")]
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
    return lines


def _prompt(teacher: dict) -> list[str]:
    return [
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


def _counts(ctx: dict) -> list[str]:
    lines = ["| stage | rows in | rows out | dropped (reason = rows) |", "|---|---|---|---|"]
    for stage, counts in ctx["stages"].items():
        drops = ", ".join(f"{k} = {_fmt(v)}" for k, v in sorted(counts["dropped"].items())) or "none"
        lines.append(f"| {stage} | {_fmt(counts['rows_in'])} | {_fmt(counts['kept'])} | {drops} |")
    lines.append(f"| publish | {_fmt(ctx['rows'])} | {_fmt(ctx['rows'])} | none |")
    if "seeds" in ctx["stages"]:
        lines += ["", "Seeds counts documents in and snippets out."]
    return lines


def _decontamination(ctx: dict, kind: str) -> list[str]:
    decon = ctx["decontamination"]
    if decon is None:
        return ["**This build was not decontaminated**: no decontaminate stage is upstream of it."]
    settings, stats = decon["settings"], decon["stats"]
    columns = "problem + solution" if kind in ("oss_instruct", "verify") else "instruction + response"
    method = f"Case-insensitive exact substring match of benchmark strings in {columns}"
    lines = [f"{method} (the StarCoder / bigcode-dataset logic the paper uses).", ""]
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
    return lines
