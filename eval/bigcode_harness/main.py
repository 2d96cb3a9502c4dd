"""bigcode-evaluation-harness's `main.py`, over the `bigcode_eval` package that `make harness` installs from PyPI
(nvidia-bigcode-eval ships upstream's module; its own console scripts target NVIDIA's endpoints instead).

Run by the harness's own python (`.venv-harness/bin/python`), never imported by this project: this folder stands
where a clone of the harness would (`eval/bigcode.py`, `--harness_dir`), with the same arguments.

nvidia-bigcode-eval 26.3 broke upstream's generation with a local model: its `bigcode_eval/utils.py` has the torch
imports commented out, so `TokenizedDataset` is no longer an IterableDataset (DataLoader takes it for a map-style
dataset and asks its len()) and `complete_code` calls `torch.no_grad()` without torch. `_repair_generation` puts both
back before a run that generates (it changes nothing where they are already there, as in upstream's clone).

MultiPL-E scores one problem at a time, its samples on `cpu_count() - 1` threads (at least 1), each running a
compiler or an interpreter (bigcode_eval/tasks/multiple.py, multiple_metrics/evaluation.py); the harness has no option
for it. MULTIPLE_WORKERS (env) sets that number of threads instead.
"""

import os
import sys

from bigcode_eval.main import main


def _repair_generation() -> None:
    """Upstream's `TokenizedDataset(IterableDataset)` and utils' `torch`, where the installed package lacks them."""
    import torch
    from bigcode_eval import generation, utils
    from torch.utils.data import IterableDataset

    if not hasattr(utils, "torch"):
        utils.torch = torch
    if not issubclass(utils.TokenizedDataset, IterableDataset):

        class TokenizedDataset(utils.TokenizedDataset, IterableDataset):
            pass

        utils.TokenizedDataset = generation.TokenizedDataset = TokenizedDataset


if __name__ == "__main__":
    if "--load_generations_path" not in sys.argv:  # a run that loads the model and generates
        _repair_generation()
    workers = os.environ.get("MULTIPLE_WORKERS")
    if workers:
        from bigcode_eval.tasks import multiple

        if not workers.isdigit() or int(workers) < 1:
            sys.exit(f"MULTIPLE_WORKERS must be a number of threads, at least 1, not {workers!r}")
        multiple.cpu_count = lambda: int(workers) + 1  # GeneralMultiPLE.process_results: cpu_count() - 1 threads
    sys.exit(main())
