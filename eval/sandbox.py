"""Scoring through EvalPlus in a child process, with its sandbox tightened.

EvalPlus runs each solution in a forked process under `reliability_guard` (memory limit, per-test time limits,
destructive `os`/`shutil`/`subprocess` functions removed, a temporary working directory). That guard is not a
sandbox by its own account: it leaves the network open and can be walked around (`posix.unlink`, `io.open`,
`os.posix_spawn`). This module adds, inside the same forked process and right after EvalPlus's guard, a
`sys.addaudithook` hook (which cannot be removed) that refuses network access, new processes and program execution,
signals to other processes, native library loading, links, and any write, removal, rename or permission change
outside the solution's temporary directory. A refused call raises `PermissionError`, which EvalPlus scores as a
failure.

It remains what EvalPlus calls it: a guard, not a security boundary. Score untrusted models inside a container.

`score()` runs `python -m eval.sandbox ...` so that EvalPlus reads the problems file named in its environment at
import, as it is designed to, and so that its worker processes never share this process's state.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

OVERRIDE_ENV = {"humaneval": "HUMANEVAL_OVERRIDE_PATH", "mbpp": "MBPP_OVERRIDE_PATH"}
DEFAULT_MAX_MEMORY_BYTES = 4 * 1024**3  # EvalPlus's own default

# Refused outright once the guard is on.
BLOCKED_EVENTS = frozenset(
    {
        "socket.connect",
        "socket.bind",
        "socket.sendto",
        "socket.sendmsg",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyaddr",
        "os.fork",
        "os.forkpty",
        "os.posix_spawn",
        "os.exec",
        "os.spawn",
        "os.system",
        "os.startfile",
        "subprocess.Popen",
        "os.kill",
        "os.killpg",
        "signal.pthread_kill",
        "ctypes.dlopen",
        "ctypes.dlsym",
        "os.symlink",
        "os.link",
        "os.setuid",
        "os.chroot",
    }
)
# Allowed only on paths inside the solution's temporary directory: (event, indices of path arguments, dir_fd index).
PATH_EVENTS = {
    "os.remove": ((0,), 1),
    "os.rmdir": ((0,), 1),
    "os.rename": ((0, 1), 2),
    "os.truncate": ((0,), None),
    "os.chmod": ((0,), 2),
    "os.chown": ((0,), 3),
    "os.chflags": ((0,), None),
    "os.lchflags": ((0,), None),
    "os.mkdir": ((0,), 2),
    "os.utime": ((0,), 3),
    "shutil.rmtree": ((0,), 1),
    "shutil.move": ((0, 1), None),
}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _resolve(path, dir_fd, cwd: str) -> str | None:
    """An absolute, normalised path without touching the file system's links; None for a bare file descriptor."""
    import posixpath

    if isinstance(path, int):
        return None
    path = os.fsdecode(path)
    if not posixpath.isabs(path):
        base = os.readlink(f"/proc/self/fd/{dir_fd}") if isinstance(dir_fd, int) else cwd
        path = posixpath.join(base, path)
    return posixpath.normpath(path)


def install_guard(root: str) -> None:
    """Refuse, for the rest of this process, everything named above (writes allowed only under `root`)."""
    import posix

    root = os.path.normpath(root)

    def inside(path: str | None) -> bool:
        return path is None or path == root or path.startswith(root + os.sep)

    def hook(event: str, args: tuple) -> None:
        if event in BLOCKED_EVENTS:
            raise PermissionError(f"sandbox: {event} is not allowed")
        if event == "open":
            path, mode, flags = args
            writes = any(c in mode for c in "wax+") if isinstance(mode, str) else bool(flags & _WRITE_FLAGS)
            if writes and not inside(_resolve(path, None, posix.getcwd())):
                raise PermissionError(f"sandbox: writing {path!r} is not allowed")
            return
        spec = PATH_EVENTS.get(event)
        if spec is not None:
            indices, dir_fd_index = spec
            dir_fd = args[dir_fd_index] if dir_fd_index is not None and dir_fd_index < len(args) else None
            for index in indices:
                if not inside(_resolve(args[index], dir_fd, posix.getcwd())):
                    raise PermissionError(f"sandbox: {event} on {args[index]!r} is not allowed")

    sys.addaudithook(hook)


_FIND_ZERO_BUG = re.compile(r"\n( *)assert abs\(_poly\(\*inp, out\)\) <= atol\n *continue\n")


def fix_find_zero(module) -> bool:
    """EvalPlus 0.3.1 fails every HumanEval/32 solution: its `find_zero` oracle `continue`s before recording the
    pass, so `untrusted_check` sees no test results and calls it a failure. Upstream fixed it after the release by
    recording the pass first; apply that fix when the unfixed code is present. True when it was applied."""
    source = inspect.getsource(module.unsafe_execute)
    if not _FIND_ZERO_BUG.search(source):
        return False
    fixed = _FIND_ZERO_BUG.sub(
        lambda m: (
            f"\n{m[1]}assert abs(_poly(*inp, out)) <= atol\n{m[1]}details[i] = True\n"
            f"{m[1]}progress.value += 1\n{m[1]}continue\n"
        ),
        source,
    )
    exec(compile(fixed, inspect.getsourcefile(module), "exec"), module.__dict__)  # noqa: S102 - EvalPlus's own code
    return True


def _tighten_evalplus() -> None:
    """Run our guard right after EvalPlus's own, in the process that executes the solution."""
    import evalplus.eval

    fix_find_zero(evalplus.eval)
    original = evalplus.eval.reliability_guard

    def reliability_guard(maximum_memory_bytes=None):
        root = os.getcwd()  # EvalPlus has just entered the solution's temporary directory
        original(maximum_memory_bytes=maximum_memory_bytes)
        install_guard(root)

    evalplus.eval.reliability_guard = reliability_guard


def results_path(samples: Path) -> Path:
    """Where EvalPlus keeps the verdicts of a samples file (and finds them again on a rerun)."""
    return samples.with_name(samples.stem + "_eval_results.json")


def score(
    dataset: str,
    samples: Path,
    problems: Path,
    *,
    base_only: bool,
    parallel: int,
    min_time_limit: float,
    gt_time_limit_factor: float,
    max_memory_bytes: int = DEFAULT_MAX_MEMORY_BYTES,
    cache_dir: Path | None = None,
) -> dict:
    """Score `samples` (EvalPlus's jsonl, a `solution` per line) on `problems`; return EvalPlus's results dict.

    EvalPlus keeps the results beside the samples (`<samples>_eval_results.json`) and reuses them when they exist,
    so scoring resumes for free; the caller deletes that file whenever the samples change.
    """
    # the scorer runs in the samples' folder: paths relative to ours would not be found from there
    samples, problems = Path(samples).resolve(), Path(problems).resolve()
    env = dict(os.environ)
    env[OVERRIDE_ENV[dataset]] = str(problems)
    env["EVALPLUS_MAX_MEMORY_BYTES"] = str(max_memory_bytes)
    env["TOKENIZERS_PARALLELISM"] = "false"
    if cache_dir is not None:  # EvalPlus caches the canonical outputs under $XDG_CACHE_HOME/evalplus
        env["XDG_CACHE_HOME"] = str(Path(cache_dir).resolve())
    command = [sys.executable, "-m", "eval.sandbox", dataset, str(samples), str(parallel)]
    command += [str(min_time_limit), str(gt_time_limit_factor), "base" if base_only else "plus"]
    completed = subprocess.run(command, env=env, cwd=samples.parent)
    verdicts = results_path(samples)
    if completed.returncode != 0 or not verdicts.exists():
        raise RuntimeError(
            f"EvalPlus scoring of {samples} failed (exit {completed.returncode}); its output is above. "
            "Rerun the same command to retry: generated samples are kept."
        )
    return json.loads(verdicts.read_text(encoding="utf-8"))


def _main(argv: list[str]) -> None:
    dataset, samples, parallel, min_time_limit, gt_factor, tests = argv
    _tighten_evalplus()
    from evalplus.evaluate import evaluate

    evaluate(
        dataset,
        samples=samples,
        base_only=tests == "base",
        parallel=int(parallel),
        min_time_limit=float(min_time_limit),
        gt_time_limit_factor=float(gt_factor),
    )
    sys.stdout.flush()
    sys.stderr.flush()
    # EvalPlus leaves a non-daemon watchdog thread sleeping for up to 20 s; the results are written, so leave now.
    os._exit(0)


if __name__ == "__main__":
    _main(sys.argv[1:])
