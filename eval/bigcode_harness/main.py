"""bigcode-evaluation-harness's `main.py`, over the `bigcode_eval` package that `make harness` installs from PyPI
(nvidia-bigcode-eval ships upstream's module; its own console scripts target NVIDIA's endpoints instead).

Run by the harness's own python (`.venv-harness/bin/python`), never imported by this project: this folder stands
where a clone of the harness would (`eval/bigcode.py`, `--harness_dir`), with the same arguments.
"""

import sys

from bigcode_eval.main import main

if __name__ == "__main__":
    sys.exit(main())
