"""Where a training run resumes, and how it is pushed: the output folder with our card, then a tag."""

from __future__ import annotations

import json
import logging
import os
import re

logger = logging.getLogger("train_sft")


def last_complete_checkpoint(output_dir: str) -> str | None:
    """The newest `checkpoint-N` that was saved to the end. The Trainer writes `trainer_state.json` last, so a run
    killed while saving leaves a folder without it (or with it cut short); resuming from that one would crash."""
    steps = {}
    for path in os.scandir(output_dir):
        match = re.fullmatch(r"checkpoint-(\d+)", path.name)
        if match and path.is_dir():
            steps[path.path] = int(match.group(1))
    for path in sorted(steps, key=steps.get, reverse=True):
        try:
            with open(os.path.join(path, "trainer_state.json")) as f:
                json.load(f)
            return path
        except (OSError, ValueError):
            logger.warning("Skipping %s: it was not saved to the end (killed while saving?)", path)
    return None


def push(args) -> None:
    """Upload `args.output_dir` (an SFTConfig's) without checkpoints or logs; tag the commit with `hub_tag`."""
    from huggingface_hub import HfApi

    api = HfApi(token=args.hub_token)
    repo_id = api.create_repo(
        args.hub_model_id or os.path.basename(os.path.normpath(args.output_dir)),
        private=args.hub_private_repo,
        exist_ok=True,
    ).repo_id
    if args.hub_revision:
        api.create_branch(repo_id, branch=args.hub_revision, exist_ok=True)
    commit = api.upload_folder(
        repo_id=repo_id,
        folder_path=args.output_dir,
        revision=args.hub_revision,
        commit_message=f"Magicoder SFT: {os.path.basename(os.path.normpath(args.output_dir))}",
        ignore_patterns=["_*", "checkpoint-*", "runs/*"],
    )
    if args.hub_tag:
        api.create_tag(repo_id, tag=args.hub_tag, revision=commit.oid)
    logger.info("Pushed %s to %s%s", args.output_dir, repo_id, f" (tag {args.hub_tag})" if args.hub_tag else "")
