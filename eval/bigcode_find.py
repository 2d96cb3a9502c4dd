"""Finding bigcode-evaluation-harness: the one `make harness` installs from PyPI (nvidia-bigcode-eval in
.venv-harness, `eval/bigcode_harness/main.py` as its `main.py`) or a git clone (`--harness_dir`), checked before
anything runs; and what of it the sandbox must show."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from eval.bigcode_metrics import HarnessError

REPO = Path(__file__).resolve().parent.parent
PACKAGED_HARNESS = Path(__file__).resolve().parent / "bigcode_harness"  # main.py over the PyPI package
HARNESS_VENV = REPO / ".venv-harness"  # `make harness`
HARNESS_PACKAGE = "nvidia-bigcode-eval"
HARNESS_URL = "https://github.com/bigcode-project/bigcode-evaluation-harness"
INSTALL_HELP = f"""Install it with `make harness` (from PyPI, pinned, into .venv-harness), or use a clone in the
environment whose python runs it:
    git clone {HARNESS_URL}
    cd bigcode-evaluation-harness && pip install -e .
then pass its folder as harness_dir (`--harness_dir`) or set BIGCODE_HARNESS_DIR.
MultiPL-E compiles and runs the generated Java, JavaScript, C++, PHP, Swift and Rust programs: run it inside the
harness's MultiPL-E Docker image or install those languages' toolchains (see the harness README). DS-1000 and APPS
execute generated Python: use a sandbox (a container) for every harness run."""


class HarnessMissing(Exception):
    """bigcode-evaluation-harness cannot be found or imported."""


@dataclass(frozen=True)
class Harness:
    """A harness found and checked: the folder of its `main.py`, the python that runs it, what it is."""

    dir: Path
    python: str
    source: str  # "bigcode-evaluation-harness <commit>" or "... (nvidia-bigcode-eval <version>)", for results.json

    @property
    def packaged(self) -> bool:
        return self.dir == PACKAGED_HARNESS


# --- finding the harness ---------------------------------------------------------------------------------------


def find_harness(harness_dir: str | os.PathLike | None = None, *, python: str | None = None) -> Harness:
    """The harness from `harness_dir`, env BIGCODE_HARNESS_DIR, or else the one `make harness` installs, checked:
    `main.py` is there and `python` (the interpreter that will run it: by default .venv-harness's for the installed
    one, ours for a clone) can import `bigcode_eval`."""
    given = harness_dir or os.environ.get("BIGCODE_HARNESS_DIR")
    if given:
        path = Path(given).expanduser().resolve()
        python = python or sys.executable
    else:
        path = PACKAGED_HARNESS
        if python is None:
            python = str(HARNESS_VENV / "bin" / "python")
            if not Path(python).is_file():
                raise HarnessMissing(
                    f"bigcode-evaluation-harness: no harness_dir given and {HARNESS_VENV} is missing.\n{INSTALL_HELP}"
                )
    if os.sep in python:  # relative to where the user stands; the check below runs in the harness folder
        python = os.path.abspath(os.path.expanduser(python))
    if not (path / "main.py").is_file():
        raise HarnessMissing(
            f"bigcode-evaluation-harness: {path} has no main.py (not a clone of {HARNESS_URL}).\n{INSTALL_HELP}"
        )
    check = (
        "import importlib.metadata as m, importlib.util, sys\n"
        "if not importlib.util.find_spec('bigcode_eval'): sys.exit(1)\n"
        f"print(m.version({HARNESS_PACKAGE!r}) if list(m.distributions(name={HARNESS_PACKAGE!r})) else '')"
    )
    try:
        found = subprocess.run([python, "-c", check], cwd=path, capture_output=True, text=True)
    except FileNotFoundError as err:
        raise HarnessMissing(f"bigcode-evaluation-harness: no python at {python}.\n{INSTALL_HELP}") from err
    if found.returncode != 0:
        detail = found.stderr.strip().splitlines()[-1:] or ["not found"]
        raise HarnessMissing(
            f"bigcode-evaluation-harness: {python} cannot import bigcode_eval ({detail[0]}).\n{INSTALL_HELP}"
        )
    if path == PACKAGED_HARNESS:
        source = f"bigcode-evaluation-harness ({HARNESS_PACKAGE} {found.stdout.strip() or 'unknown version'})"
    else:
        source = f"bigcode-evaluation-harness {harness_revision(path)}"
    return Harness(path, python, source)


def harness_revision(harness_dir: Path) -> str:
    """The clone's git commit, read from .git without running git; 'unknown revision' when there is none."""
    git = harness_dir / ".git"
    head = git / "HEAD"
    if not head.is_file():
        return "unknown revision"
    ref = head.read_text(encoding="utf-8").strip()
    if not ref.startswith("ref: "):
        return ref
    name = ref.removeprefix("ref: ")
    loose = git / name
    if loose.is_file():
        return loose.read_text(encoding="utf-8").strip()
    packed = git / "packed-refs"
    if packed.is_file():
        for line in packed.read_text(encoding="utf-8").splitlines():
            if line.endswith(" " + name):
                return line.split(" ", 1)[0]
    return "unknown revision"


def sandbox_paths(harness: Harness) -> tuple[Path, ...]:
    """What the sandboxed harness must see besides /usr: its main.py's folder and its python's environment. The
    python itself must resolve under /usr or that environment (a venv made from /usr/bin/python3, as `make harness`
    does): a pyenv or conda python elsewhere (under a 0700 /root) cannot be shown."""
    python = Path(harness.python).absolute()
    env = python.parent.parent
    roots = [harness.dir, env if (env / "pyvenv.cfg").is_file() else python.parent]
    real = python.resolve()
    if not (real.is_relative_to("/usr") or any(real.is_relative_to(r) for r in roots)):
        raise HarnessError(
            f"the harness's python {python} runs {real}, which the sandbox cannot show: make its environment from "
            "/usr/bin/python3 (`make harness` does) or score without the sandbox (--harness_sandbox none)"
        )
    return tuple(roots)
