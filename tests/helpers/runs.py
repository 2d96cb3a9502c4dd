"""Reading a run folder the way tests check it."""

from datasets import load_from_disk


def load_rejects(run_dir):
    """The rows a stage dropped, each with its `reason`."""
    return load_from_disk(str(run_dir.rejects_path))
