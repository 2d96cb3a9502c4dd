"""Versioned pushes of a built dataset folder to the Hub: one commit and one `v{version}` tag per version.

Pushing a build whose tag already holds the same content is a no-op; a different build under an existing tag, or a
second version without a changelog, is refused. The card is rendered again with the repo id and the changelog of
every version. Tokens come from huggingface_hub's usual lookup (`HF_TOKEN`, `hf auth login`) and are never read,
logged or written here.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from dataset_builder.config import BuilderConfig
from dataset_builder.dataset_card import render_card
from dataset_builder.hub_layout import BUILD_FILE, HUB_FOLDER
from dataset_builder.runs import RunDir, write_json_atomic

logger = logging.getLogger(__name__)

PUSHES_FILE = "pushes.json"
VERSION_TAG = re.compile(r"^v\d+\.\d+\.\d+")


class PublishError(RuntimeError):
    """A push that must not happen as asked; the message says what to change in the recipe."""


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
