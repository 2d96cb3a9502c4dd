"""bigcode-evaluation-harness's `main.py`, over the `bigcode_eval` package that `make harness` installs from PyPI
(nvidia-bigcode-eval ships upstream's module; its own console scripts target NVIDIA's endpoints instead).

Run by the harness's own python (`.venv-harness/bin/python`), never imported by this project: this folder stands
where a clone of the harness would (`eval/bigcode.py`, `--harness_dir`), with the same arguments.

MultiPL-E scores one problem at a time, its samples on `cpu_count() - 1` threads (at least 1), each running a
compiler or an interpreter (bigcode_eval/tasks/multiple.py, multiple_metrics/evaluation.py); the harness has no option
for it. MULTIPLE_WORKERS (env) sets that number of threads instead.
"""

import os
import sys

from bigcode_eval.main import main

if __name__ == "__main__":
    workers = os.environ.get("MULTIPLE_WORKERS")
    if workers:
        from bigcode_eval.tasks import multiple

        if not workers.isdigit() or int(workers) < 1:
            sys.exit(f"MULTIPLE_WORKERS must be a number of threads, at least 1, not {workers!r}")
        multiple.cpu_count = lambda: int(workers) + 1  # GeneralMultiPLE.process_results: cpu_count() - 1 threads
    sys.exit(main())
