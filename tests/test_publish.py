"""Publish stage: the Hub-layout folder, its dataset card, and versioned pushes to a loopback Hub stand-in.

The upstream run folders (seeds -> generate -> parse -> clean -> decontaminate) are written by hand with the parse
schema (`helpers/publish_chain.py`), so these tests do not depend on the earlier stages' code. Pushes go through the
real `huggingface_hub` and `datasets` clients to `helpers/hub_server.py` (no network).
"""

import json
import logging

import pytest

from dataset_builder import hub_layout, prompts
from dataset_builder.config import ConfigError
from dataset_builder.hub_push import PublishError, push
from dataset_builder.pipeline import STAGES, stage_inputs
from dataset_builder.runs import RunDir, fingerprint
from dataset_builder.stages import publish
from dataset_builder.stages.parse import OUTPUT_COLUMNS
from dataset_builder.variants import VARIANTS, is_noisy
from oss_common.card import TOY_TEACHER_NOTICE
from tests.conftest import HF_TEST_TOKEN
from tests.helpers.publish_chain import (
    NOISY,
    PYTHON,
    ROWS,
    as_rows,
    build,
    front_matter,
    make_chain,
    make_config,
    parse_features,
    parsed_row,
)

TOKEN = HF_TEST_TOKEN
REPO = "test-org/oss-instruct-mini"


# --- the local folder -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    config = make_config(out)
    return config, build(config, make_chain(out, ROWS, config))


def test_folder_round_trips_through_load_dataset(local_build, tmp_path, caplog, request):
    from datasets import load_dataset
    from datasets.utils import logging as datasets_logging

    datasets_logging.enable_propagation()  # so that caplog sees what `datasets` says about the card
    request.addfinalizer(datasets_logging.disable_propagation)

    _, run_dir = local_build
    hub = run_dir.path / "hub"
    assert sorted(p.relative_to(hub).as_posix() for p in hub.rglob("*.parquet")) == [
        f"data/{name}/train-00000-of-00001.parquet" for name in ("default", "no_noisy", "non_python", "python")
    ]
    loaded = load_dataset(str(hub), split="train", cache_dir=str(tmp_path / "cache"))
    assert loaded.features == parse_features()
    assert "dataset_info" not in caplog.text  # the card's metadata is read whole, none of it ignored as malformed
    assert loaded.column_names == OUTPUT_COLUMNS
    assert as_rows(loaded) == ROWS
    expected = {
        "python": PYTHON,
        "non_python": set(range(len(ROWS))) - PYTHON,
        "no_noisy": set(range(len(ROWS))) - NOISY,
    }
    for name, indices in expected.items():
        part = load_dataset(str(hub), name, split="train", cache_dir=str(tmp_path / "cache"))
        assert part.features == parse_features()
        assert as_rows(part) == [r for r in ROWS if r["raw_index"] in indices], name
    assert run_dir.stats()["configs"] == {"default": 6, "python": 5, "non_python": 1, "no_noisy": 4}


def test_noisy_rows_follow_table_10():
    assert [is_noisy(r) for r in ROWS] == [r["raw_index"] in NOISY for r in ROWS]
    broken = parsed_row(9, "python", "p", "```python\ndef f(:\n    pass\n```")  # not tokenizable: regex fallback
    assert is_noisy(broken)
    not_python = parsed_row(9, "rust", "p", "```rust\nfn f() { unimplemented!() } // pass\n```")
    assert not is_noisy(not_python)


def test_the_recipe_refuses_unknown_variants(tmp_path):
    with pytest.raises(ConfigError, match="Unknown variants") as err:
        make_config(tmp_path, variants=["python", "rust_only"])
    assert all(name in str(err.value) for name in VARIANTS)


def test_card_metadata_and_body(local_build):
    from huggingface_hub import DatasetCard

    _, run_dir = local_build
    text = (run_dir.path / "hub" / "README.md").read_text()
    meta = front_matter(text)
    assert meta["license"] == "mit"
    assert meta["task_categories"] == ["text-generation"]
    assert meta["language"] == ["en", "code"]
    assert meta["tags"] == ["code", "synthetic", "oss-instruct", "magicoder"]
    assert meta["size_categories"] == ["n<1K"]
    assert "&id" not in text  # no YAML anchors
    assert {c["config_name"] for c in meta["configs"]} == {"default", "python", "non_python", "no_noisy"}
    info = {i["config_name"]: i for i in meta["dataset_info"]}
    [split] = info["no_noisy"]["splits"]
    assert (split["name"], split["num_examples"]) == ("train", 4) and split["num_bytes"] > 0
    assert info["default"]["splits"][0]["num_bytes"] > split["num_bytes"]  # 6 rows against 4
    assert {f["name"] for f in info["default"]["features"]} == set(OUTPUT_COLUMNS)
    card = DatasetCard.load(run_dir.path / "hub" / "README.md")
    assert card.data.license == "mit"
    # how the data was made
    assert prompts.SYSTEM in card.text
    assert prompts.USER_TEMPLATE in card.text
    assert "| parse | 8 | 7 | truncated = 1 |" in card.text
    assert "| clean | 7 | 6 | duplicate_seed = 1 |" in card.text
    assert "| generate | 8 | 8 | none |" in card.text
    assert "| seeds | 11 | 8 | too_long = 3 |" in card.text
    assert "| humaneval | file <local>/HumanEval.jsonl | 328 | 0 |" in card.text  # decontamination summary
    assert "| apps | not checked (skipped on purpose) | - | - |" in card.text
    assert "/home/someone" not in card.text
    assert "`fake-teacher`" in card.text and "`temperature`: 0.0" in card.text and "976 + raw_index" in card.text
    build = json.loads((run_dir.path / "hub" / "build.json").read_text())
    assert run_dir.fingerprint in card.text and build["content_hash"] in card.text
    assert "**1.0.0**: First release." in card.text
    assert "@inproceedings{wei2024magicoder" in card.text
    assert 'revision="v1.0.0"' in card.text


def test_missing_stages_empty_variant_and_rebuild_is_a_no_op(tmp_path):
    config = make_config(tmp_path, variants=["non_python"])
    upstream = make_chain(tmp_path, ROWS[:2], config, stages=("seeds", "generate", "parse"))
    run_dir = build(config, upstream)
    text = (run_dir.path / "hub" / "README.md").read_text()
    assert "not decontaminated" in text
    assert [c["config_name"] for c in front_matter(text)["configs"]] == ["default"]  # no row is non-Python
    assert "Left out because no row qualifies: `non_python`" in text
    assert "| generate | 4 | 4 | none |" in text  # rows in: the seeds it was given
    mtime = (run_dir.path / "hub" / "README.md").stat().st_mtime_ns
    assert build(config, upstream).path == run_dir.path
    assert (run_dir.path / "hub" / "README.md").stat().st_mtime_ns == mtime


def test_without_a_recipe_licence_the_card_says_other_and_lists_the_seed_licences(tmp_path, caplog):
    config = make_config(tmp_path, dataset_license=None, variants=[])
    with caplog.at_level(logging.WARNING):
        run_dir = build(config, make_chain(tmp_path, ROWS, config))
    text = (run_dir.path / "hub" / "README.md").read_text()
    assert front_matter(text)["license"] == "other"
    assert "`license: other`: no single licence covers this dataset" in text
    assert "the teacher's outputs, under the terms of the teacher's provider" in text
    assert "| seed licence | rows |\n|---|---|\n| mit | 6 |" in text
    assert "**Warning**" not in text and "licence" not in caplog.text
    assert TOY_TEACHER_NOTICE not in text


def test_copyleft_and_unknown_seeds_are_warned_about_in_the_log_and_the_card(tmp_path, caplog):
    found = ["GPL-3.0", None, "MIT", "MIT", "MPL-2.0", "MIT"]
    rows = [r | {"license": lic} for r, lic in zip(ROWS, found, strict=True)]
    config = make_config(tmp_path, variants=[])
    with caplog.at_level(logging.WARNING):
        run_dir = build(config, make_chain(tmp_path, rows, config))
    text = (run_dir.path / "hub" / "README.md").read_text()
    assert front_matter(text)["license"] == "mit"
    assert "Declared by the recipe: `mit`." in text
    assert "| MIT | 3 |" in text and "| GPL-3.0 | 1 |" in text and "| unknown | 1 |" in text
    warning = "2 of 6 rows come from copyleft code (GPL-3.0: 1, MPL-2.0: 1); 1 of 6 rows come from code of unknown"
    assert f"**Warning**: {warning}" in text
    assert warning in caplog.text


def test_rows_without_a_licence_column_count_the_seeds_upstream(tmp_path):
    from datasets import Dataset

    config = make_config(tmp_path)
    pairs = Dataset.from_dict({"instruction": ["a"], "response": ["b"]})  # the direct pipeline's rows
    upstream = make_chain(tmp_path / "a", ROWS, config, stages=("seeds", "generate"))
    assert publish.seed_licenses(pairs, upstream.path) == {"counts": {"mit": 6}, "unit": "seeds"}
    assert publish.seed_licenses(pairs, make_chain(tmp_path / "b", ROWS, config, stages=("generate",)).path) is None


def test_a_build_with_the_toy_local_teacher_says_so_first(tmp_path, monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    config = make_config(tmp_path, local_teacher=True, variants=[])
    run_dir = build(config, make_chain(tmp_path, ROWS, config))
    text = (run_dir.path / "hub" / "README.md").read_text()
    body = text.split("---\n", 2)[2].lstrip()
    assert body.startswith(TOY_TEACHER_NOTICE)
    build_json = json.loads((run_dir.path / "hub" / "build.json").read_text())
    assert build_json["card"]["toy_teacher"] is True


# --- pushes -----------------------------------------------------------------------------------------------------


def test_push_tag_and_versions(hub, tmp_path, caplog, capsys):
    from datasets import load_dataset
    from huggingface_hub import HfApi

    caplog.set_level(logging.DEBUG)
    cache = str(tmp_path / "datasets-cache")
    out = tmp_path / "out"
    config = make_config(out, push_to_hub=REPO, hub_private=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(hub_layout, "MAX_SHARD_BYTES", 500)  # several shards, so that v1.1.0 must delete the stale ones
        first = build(config, make_chain(out / "a", ROWS, config))
    assert len(list((first.path / "hub/data/default").glob("*.parquet"))) > 1
    repo = hub.repo(REPO)
    assert repo.private and hub.created[-1]["visibility"] == "private"
    assert f"Bearer {TOKEN}" in hub.authorizations
    assert set(repo.tags) == {"v1.0.0"}
    loaded = load_dataset(REPO, revision="v1.0.0", split="train", cache_dir=cache)
    assert loaded.features == parse_features() and as_rows(loaded) == ROWS
    noisy_free = load_dataset(REPO, "no_noisy", revision="v1.0.0", split="train", cache_dir=cache)
    assert {r["raw_index"] for r in noisy_free} == set(range(len(ROWS))) - NOISY
    card = HfApi().hf_hub_download(REPO, "README.md", repo_type="dataset", revision="v1.0.0")
    assert f'load_dataset("{REPO}", revision="v1.0.0"' in open(card).read()

    # the same build again: no new commit, no new tag
    commits = len(repo.commits)
    assert push(config, first)["pushed"] is False
    assert len(repo.commits) == commits
    assert [p["pushed"] for p in json.loads((first.path / "pushes.json").read_text())] == [True, False]

    # a changed build under the same version is refused
    changed = ROWS[:-1] + [parsed_row(5, "python", "Write `g`.", "```python\ndef g():\n    return 1\n```")]
    with pytest.raises(PublishError, match="already has v1.0.0 with different content.*dataset_version"):
        build(config, make_chain(out / "b", changed, config))
    # a new version needs a changelog
    config = make_config(out, push_to_hub=REPO, hub_private=True, dataset_version="1.1.0")
    with pytest.raises(PublishError, match="give `changelog`"):
        build(config, make_chain(out / "b", changed, config))
    assert len(repo.commits) == commits and set(repo.tags) == {"v1.0.0"}

    config = make_config(out, push_to_hub=REPO, dataset_version="1.1.0", changelog="Row 5 is now a Python row.")
    build(config, make_chain(out / "b", changed, config))
    assert set(repo.tags) == {"v1.0.0", "v1.1.0"}
    assert as_rows(load_dataset(REPO, revision="v1.1.0", split="train", cache_dir=cache)) == changed
    v110 = repo.commits[repo.tags["v1.1.0"]].files
    assert [p for p in v110 if p.startswith("data/default/")] == ["data/default/train-00000-of-00001.parquet"]
    assert as_rows(load_dataset(REPO, revision="v1.0.0", split="train", cache_dir=cache)) == ROWS
    card_text = open(HfApi().hf_hub_download(REPO, "README.md", repo_type="dataset", revision="v1.1.0")).read()
    assert "**1.1.0**: Row 5 is now a Python row." in card_text and "**1.0.0**: First release." in card_text
    assert repo.commits[repo.tags["v1.1.0"]].message == "Publish oss-instruct v1.1.0"

    # the token reached the Hub but nothing we wrote or logged
    assert TOKEN not in caplog.text
    captured = capsys.readouterr()
    assert TOKEN not in captured.out + captured.err
    for path in out.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
    for commit in repo.commits.values():
        assert all(TOKEN.encode() not in blob.data for blob in commit.files.values())


def test_private_flag_refuses_a_public_repo(hub, tmp_path):
    out = tmp_path / "out"
    public = make_config(out, push_to_hub="test-org/public-one", variants=[])
    upstream = make_chain(out, ROWS[:2], public)
    build(public, upstream)
    assert hub.repo("test-org/public-one").private is False
    private = make_config(out, push_to_hub="test-org/public-one", variants=[], hub_private=True)
    with pytest.raises(PublishError, match="is public"):
        build(private, upstream)


# --- with the analyze stage, and with nothing to publish ----------------------------------------------------------


def test_figures_of_the_analyze_stage_are_in_the_card(tmp_path):
    from dataset_builder.stages import analyze

    config = make_config(tmp_path, variants=[])
    upstream = make_chain(tmp_path, ROWS, config)
    figures = RunDir(tmp_path, "analyze", "fp-analyze")
    figures.prepare(config.to_dict(), {}, upstream)
    analyze.run(config, figures, upstream)
    run_dir = build(config, figures)
    hub = run_dir.path / "hub"
    pngs = sorted(p.name for p in (hub / "figures").glob("*.png"))
    assert pngs == ["categories.png", "humaneval_similarity.png", "language_mix.png", "token_lengths.png"]
    text = (hub / "README.md").read_text()
    assert "## Analysis" in text
    assert text.count("## Analysis") == 1  # the analyze stage's section brings its own heading
    for name in pngs:
        assert f"figures/{name}" in text


def test_no_rows_publishes_nothing_and_says_so(tmp_path, caplog):
    config = make_config(tmp_path, push_to_hub=REPO)
    upstream = make_chain(tmp_path, [], config)
    inputs = stage_inputs("publish", config)
    run_dir = RunDir(
        config.output_dir, "publish", fingerprint("publish", STAGES["publish"].version, inputs, upstream.fingerprint)
    )
    run_dir.prepare(config.to_dict(), inputs, upstream)
    with caplog.at_level(logging.WARNING):
        publish.run(config, run_dir, upstream)
    assert "nothing to publish" in caplog.text
    assert run_dir.is_complete() and run_dir.stats()["published"] is False
    assert not (run_dir.path / "hub").exists()
    with pytest.raises(PublishError, match="no rows"):
        push(config, run_dir)
