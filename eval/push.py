"""The push of a model folder's updated card and `.eval_results/` to its model repo on the Hub."""

from __future__ import annotations

import logging
from pathlib import Path

from eval.model_index import EVAL_RESULTS_DIR

logger = logging.getLogger(__name__)

PUSH_PATTERNS = ["README.md", f"{EVAL_RESULTS_DIR}/*"]


def push_results(model_dir, repo_id: str, *, revision: str | None = None, token=None, create_pr: bool = False):
    """Upload `README.md` and `.eval_results/` from model_dir to the model repo `repo_id` (the token from the
    environment or the cached login unless given). Return the `CommitInfo`."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError

    model_dir = Path(model_dir)
    if not (model_dir / "README.md").is_file():
        raise FileNotFoundError(f"{model_dir / 'README.md'}: no model card to push; run update_model_card first")
    try:
        info = HfApi(token=token).upload_folder(
            repo_id=repo_id,
            repo_type="model",
            folder_path=model_dir,
            revision=revision,
            create_pr=create_pr,
            allow_patterns=PUSH_PATTERNS,
            commit_message="Evaluation results",
        )
    except RepositoryNotFoundError as e:
        raise RuntimeError(
            f"model repo {repo_id} not found or not writable with this token: push the model first "
            "(train_sft.py --push_to_hub true) or check HF_TOKEN / `hf auth login`"
        ) from e
    logger.info("evaluation results pushed to %s (%s)", repo_id, getattr(info, "commit_url", ""))
    return info
