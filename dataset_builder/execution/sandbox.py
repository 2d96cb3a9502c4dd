"""Run one command over untrusted code with limits: isolated by bubblewrap (`Bwrap`, in `bwrap.py`), or not
(`NoSandbox`, the recipe's explicit `sandbox: none`).

Both apply the same limits and environment: rlimits set before exec (RLIMIT_DATA, not RLIMIT_AS: the JVM, Node and
Mono reserve far more address space than they use), an empty environment, stdout and stderr merged and read up to a
cap, and a wall clock that kills the whole tree. Where a cgroup can be made, the slot's cgroup (cgroups.py) also
bounds the whole tree's memory, tasks and CPU time, and its sweep kills whatever the run left in it.

`run(..., writable_host=False)` (the default, for anything that runs a row's code) lets the command write only into a
private, size-capped work area: under bwrap the row's files are bound read-only into a tmpfs, so what
the run writes never reaches the host and vanishes with it. `writable_host=True` (a compiler writing its output)
binds the row's host folder read-write. `NoSandbox` always runs in the host folder: it isolates nothing.

As root, each worker slot runs as a uid of its own (a block of 64 free uids leased per sandbox with a lock file,
`processes.UidLease`): root is exempt from RLIMIT_NPROC, and a uid of its own is how a run's leftovers are found and
killed before `run` returns. That sweep also counts the slot's zombies (a process init has not reaped yet counts
against RLIMIT_NPROC), so the next run's budget is the limit plus them. Without root, the budget is the user's task
count plus the limit, and no uid tells a run's processes apart; `run` still returns only once nothing the command
started is running: under bwrap the pid namespace is empty when bwrap exits (bwrap.py), with `none` the command's
process group is killed and waited for (a process that left the group with setsid survives: `none` isolates
nothing).

The public names (`Bwrap`, `SANDBOXES`, `leftovers`, `SandboxError`, ...) are importable from here.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from dataset_builder.execution import cgroups, workarea
from dataset_builder.execution.processes import (
    BASE_UID,
    UID_BLOCK,
    UID_BLOCKS,
    SandboxError,
    UidLease,
    _collect,
    _drain_group,
    _signal,
    _sweep,
    _tasks_of,
    leftovers,
)

__all__ = [  # Bwrap and SANDBOXES come from __getattr__ (bottom)
    "BASE_UID", "INSTALL_HINT", "PATH", "UID_BLOCK", "UID_BLOCKS", "Completed", "Limits", "NoSandbox", "Sandbox",
    "SandboxError", "leftovers",
]  # fmt: skip

INSTALL_HINT = "apt-get install -y bubblewrap"
PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 10.0  # the whole tree, wall clock
    cpu_seconds: int = 10  # RLIMIT_CPU, per process
    memory_bytes: int = 2 << 30  # RLIMIT_DATA
    processes: int = 64  # RLIMIT_NPROC (see the module docstring for root)
    file_bytes: int = 64 << 20  # RLIMIT_FSIZE
    output_bytes: int = 1 << 20  # stdout+stderr kept; beyond it the tree is killed
    tmpfs_bytes: int = 512 << 20  # the private /tmp, the run's work area included (bwrap only)
    shm_bytes: int = 64 << 20  # the private /dev/shm (bwrap only)


@dataclass
class Completed:
    returncode: int | None  # None when a signal ended the command
    signal: int | None
    output: bytes  # stdout and stderr merged, at most output_bytes
    seconds: float
    timed_out: bool  # the wall clock, or the tree's CPU time where a cgroup measures it
    output_limited: bool
    usage: cgroups.Usage = field(default_factory=cgroups.Usage)  # the tree's, where a cgroup measures it

    @property
    def memory_exceeded(self) -> bool:
        """The kernel killed a process of the tree at the row's memory limit (cgroups only)."""
        return self.usage.oom_killed


class Sandbox(ABC):
    name: str

    def __init__(self) -> None:
        self._checked = False
        self._tools: dict[str, str] = {}
        self._zombies: dict[int, int] = {}  # slot uid -> its zombies after its last run
        self._lease: UidLease | None = None  # this sandbox's block of uids (as root), leased on first use
        self._row_limits: cgroups.RowLimits | None = None

    @property
    def row_limits(self) -> cgroups.RowLimits:
        """The limits on a row's whole tree (a cgroup per slot, or rlimits only), found on first use; its
        `describe()` is the line for the card."""
        if self._row_limits is None:
            self._row_limits = cgroups.detect()
        return self._row_limits

    def close(self) -> None:
        """Remove the slots' cgroups (also done at exit, and by the next start after a crash)."""
        if self._row_limits is not None:
            self._row_limits.close()

    def uid(self, slot: int) -> int:
        """The uid of a worker slot (as root), from this sandbox's block (`processes.UidLease`)."""
        if not 0 <= slot < UID_BLOCK:
            raise ValueError(f"slot {slot}: a sandbox has {UID_BLOCK} worker slots (use at most {UID_BLOCK} workers)")
        if self._lease is None:
            self._lease = UidLease()
        return self._lease.uids[slot]

    def uids(self) -> range | None:
        """The uids this sandbox leased (its slots run as them), None before any (or without root): a caller that
        checks for leftovers looks at these only."""
        return None if self._lease is None else self._lease.uids

    def check(self) -> None:
        """Raise SandboxError with the fix when a trivial command cannot run (tried once per instance)."""
        if self._checked:
            return
        with tempfile.TemporaryDirectory(prefix="oss-sandbox-check-") as tmp:
            done = self.run(["true"], Path(tmp), Limits(wall_seconds=30.0))
        if done.returncode != 0:
            raise SandboxError(self._failure(done))
        self._checked = True

    @abstractmethod
    def version(self) -> str: ...

    def run(
        self,
        argv: list[str],
        workdir: Path,
        limits: Limits,
        slot: int = 0,
        env: dict[str, str] | None = None,
        pass_fds: tuple[int, ...] = (),
        writable_host: bool = False,
    ) -> Completed:
        """Run `argv` in `workdir`; `pass_fds` stay open (at the same numbers) in the command (the executor's
        verdict channel). With `writable_host` the command writes into `workdir` itself (a compile step); without,
        into a private work area that holds `workdir`'s files read-only and is gone when the run ends (the module
        docstring; `NoSandbox` always runs in `workdir`)."""
        workdir = Path(workdir)
        uid = self.uid(slot) if os.geteuid() == 0 else None
        if uid is not None:
            self._prepare(workdir, uid, writable_host)
            if uid not in self._zombies:  # first run of this slot: clear what an earlier process left
                self._zombies[uid] = _sweep(uid)
            processes = limits.processes + self._zombies[uid]
        else:  # RLIMIT_NPROC counts every task of the user, so the budget comes on top of what already runs
            processes = limits.processes + _tasks_of(os.getuid())
        tree = self.row_limits
        tree.prepare(slot, limits)
        command, options = self._command(argv, workdir, limits, env or {}, writable_host)
        ours = options.pop("pass_fds", ())  # what the sandbox itself reads (the syscall filter), closed once started
        info = options.pop("info_fd", None)  # where the sandbox says what it started (`_started`)
        start = time.monotonic()
        try:
            proc = subprocess.Popen(
                [*tree.enter_argv(slot), *self._prefix(limits, uid, processes), *command],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                pass_fds=(*pass_fds, *ours),
                **options,
            )
        except BaseException:
            if info is not None:
                os.close(info)
            raise
        finally:
            for fd in ours:
                os.close(fd)
        watch = None
        try:
            watch = self._started(proc, info, start + limits.wall_seconds)
            exceeded = functools.partial(tree.exceeded, slot, limits)
            output, stop = _collect(proc, start + limits.wall_seconds, limits.output_bytes, exceeded)
            timed_out, limited = stop in ("wall", "cpu"), stop == "output"
            if stop:
                self._kill(proc, watch)
            self._after_exit(proc, watch)
            proc.wait()
        finally:
            if proc.returncode is None:  # an exception (Ctrl-C) while it runs: nothing may outlive us
                self._kill(proc, watch)
                proc.wait()
            seconds = time.monotonic() - start  # the command's time, not our bookkeeping after it
            proc.stdout.close()
            if watch is not None:
                os.close(watch)
            tree.kill(slot)
            if uid is not None:
                self._zombies[uid] = _sweep(uid)
        returncode, signum = self._status(proc.returncode)
        output = bytes(output[: limits.output_bytes])
        return Completed(returncode, signum, output, seconds, timed_out, limited, tree.usage(slot))

    # what the two sandboxes do differently

    @abstractmethod
    def _command(
        self, argv: list[str], workdir: Path, limits: Limits, env: dict[str, str], writable_host: bool
    ) -> tuple[list[str], dict]:
        """(the command after the prefix, Popen's keyword arguments; `pass_fds` among them are closed after start)"""

    def _started(self, proc: subprocess.Popen, info: int | None, deadline: float) -> int | None:
        """Called once the command is started, with the `info_fd` `_command` asked for (closed here); returns a
        descriptor `_kill` and `_after_exit` are given (closed by `run`), or None."""
        return None

    @abstractmethod
    def _kill(self, proc: subprocess.Popen, watch: int | None) -> None: ...

    @abstractmethod
    def _after_exit(self, proc: subprocess.Popen, watch: int | None) -> None:
        """Called once the command has exited, been killed or timed out, before it is reaped; returns only when
        nothing the command started is left running (as far as this sandbox can know)."""

    def _status(self, returncode: int) -> tuple[int | None, int | None]:
        return (None, -returncode) if returncode < 0 else (returncode, None)

    def _failure(self, done: Completed) -> str:
        output = done.output.decode(errors="replace").strip()
        return f"the {self.name} sandbox cannot run `true` (exit {done.returncode}): {output}"

    def _prepare(self, workdir: Path, uid: int, writable_host: bool) -> None:
        workarea.give(workdir, uid)

    def _prefix(self, limits: Limits, uid: int | None, processes: int) -> list[str]:
        """setpriv (the slot's uid, no groups) and prlimit (the limits) before the command: two small util-linux
        programs, so Popen can vfork. A preexec_fn or Popen's user= forks the interpreter instead: 2 to 5 ms more a
        run, measured here."""
        prlimit = [
            self._tool("prlimit"),
            f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 1}",  # SIGXCPU first, SIGKILL a second later
            f"--data={limits.memory_bytes}",
            f"--nproc={processes}",
            f"--fsize={limits.file_bytes}",
            "--core=0",
            "--",
        ]
        if uid is None:
            return prlimit
        return [self._tool("setpriv"), f"--reuid={uid}", f"--regid={uid}", "--clear-groups", *prlimit]

    def _tool(self, name: str, package: str = "util-linux", path: str = PATH) -> str:
        if name not in self._tools:
            found = shutil.which(name, path=path)
            if found is None:
                raise SandboxError(f"`{name}` is missing: apt-get install -y {package}")
            self._tools[name] = found
        return self._tools[name]


class NoSandbox(Sandbox):
    """No isolation: the same limits, environment, uid and timeout, in the host's folder (whatever `writable_host`
    says). The code can read and write whatever its uid can, reach the network and make system calls bwrap's filter
    refuses; an explicit choice the run warns about."""

    name = "none"

    def version(self) -> str:
        return "none"

    def _command(self, argv, workdir, limits, env, writable_host):
        return argv, {"cwd": workdir, "env": {"PATH": PATH, "HOME": str(workdir), "LANG": "C.UTF-8", **env}}

    def _kill(self, proc, watch):
        _signal(-proc.pid)

    def _after_exit(self, proc, watch):
        # the group's leader is a zombie until reaped, so its group id cannot be reused yet: kill what it left running,
        # then wait until none of it runs (a group id stays reserved while any process has it)
        _signal(-proc.pid)
        proc.wait()
        _drain_group(proc.pid)


def __getattr__(name: str):
    """`Bwrap` and `SANDBOXES` (bwrap.py builds on this module, so it is imported on first use)."""
    if name in ("Bwrap", "SANDBOXES"):
        from dataset_builder.execution.bwrap import Bwrap

        return Bwrap if name == "Bwrap" else {"bwrap": Bwrap, "none": NoSandbox}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
