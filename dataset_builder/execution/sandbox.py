"""Run one command over untrusted code with limits: isolated by bubblewrap (`Bwrap`), or not (`NoSandbox`, the
recipe's explicit `sandbox: none`).

Both apply the same limits and environment: rlimits set before exec (RLIMIT_DATA, not RLIMIT_AS: the JVM, Node and
Mono reserve far more address space than they use), an empty environment, stdout and stderr merged and read up to a
cap, and a wall clock that kills the whole tree. Where a cgroup can be made, the slot's cgroup (cgroups.py) also
bounds the whole tree's memory, tasks and CPU time, and its sweep kills whatever the run left in it.

As root, each worker slot runs as a uid of its own (a block of 64 uids from 60000, leased per sandbox with a lock
file, so two builds on one machine never share one): root is exempt from RLIMIT_NPROC, and a uid of its own is how a
run's leftovers are found and killed before `run` returns. That sweep also counts the slot's zombies:
bwrap's reaper is often orphaned when bwrap exits (it exits on the command's status, not the reaper's) and this
machine's init reaps orphans only every second or so; zombies count against RLIMIT_NPROC, so the next run's budget
is the limit plus them. Two executors running as root on one machine would share these uids: run one at a time.
Without root, the budget is the user's task count plus the limit, and nothing can find a process that left the
tree: under bwrap the pid namespace still kills it (within moments of the command's exit, --die-with-parent); with
`none` it survives.
"""

from __future__ import annotations

import functools
import os
import select
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from dataset_builder.execution import cgroups

INSTALL_HINT = "apt-get install -y bubblewrap"
BASE_UID = 60000
UID_BLOCK = 64  # uids (worker slots) per sandbox
UID_BLOCKS = 256  # sandboxes that can run at once on one machine
PATH = "/usr/local/bin:/usr/bin:/bin"
INSIDE = "/tmp/work"  # the row's folder inside the bubblewrap sandbox, and its working directory
READ_CHUNK = 1 << 16
CHECK_SECONDS = 0.05  # how often the tree's CPU time and OOM kills are read while a run goes
SWEEP_SECONDS = 5.0  # how long SIGKILLed processes may take to disappear before we call it a bug


class SandboxError(RuntimeError):
    """The sandbox cannot run here; the message names the fix."""


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 10.0  # the whole tree, wall clock
    cpu_seconds: int = 10  # RLIMIT_CPU, per process
    memory_bytes: int = 2 << 30  # RLIMIT_DATA
    processes: int = 64  # RLIMIT_NPROC (see the module docstring for root)
    file_bytes: int = 64 << 20  # RLIMIT_FSIZE
    output_bytes: int = 1 << 20  # stdout+stderr kept; beyond it the tree is killed
    tmpfs_bytes: int = 512 << 20  # the private /tmp (bwrap only)


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
        self._lease = None  # the lock file that holds this sandbox's block of uids (as root)
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
        """The uid of a worker slot (as root): BASE_UID + block * UID_BLOCK + slot, the block leased on first use."""
        if not 0 <= slot < UID_BLOCK:
            raise ValueError(f"slot {slot}: a sandbox has {UID_BLOCK} worker slots (use at most {UID_BLOCK} workers)")
        if self._lease is None:
            import fcntl

            folder = Path(tempfile.gettempdir()) / "oss-instruct-sandbox-uids"
            folder.mkdir(mode=0o700, exist_ok=True)
            for block in range(UID_BLOCKS):
                lease = open(folder / f"block-{block}.lock", "w")  # noqa: SIM115 - held for the sandbox's life
                try:
                    fcntl.flock(lease, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    lease.close()
                    continue
                self._lease, self._block = lease, block
                break
            else:
                raise SandboxError(f"all {UID_BLOCKS} sandbox uid blocks are in use on this machine ({folder})")
        return BASE_UID + self._block * UID_BLOCK + slot

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
    ) -> Completed:
        """Run `argv` in `workdir`; `pass_fds` stay open (at the same numbers) in the command (the executor's
        verdict channel)."""
        workdir = Path(workdir)
        uid = self.uid(slot) if os.geteuid() == 0 else None
        if uid is not None:
            self._prepare(workdir, uid)
            if uid not in self._zombies:  # first run of this slot: clear what an earlier process left
                self._zombies[uid] = _sweep(uid)
            processes = limits.processes + self._zombies[uid]
        else:  # RLIMIT_NPROC counts every task of the user, so the budget comes on top of what already runs
            processes = limits.processes + _tasks_of(os.getuid())
        command, options = self._command(argv, workdir, limits, env or {})
        tree = self.row_limits
        tree.prepare(slot, limits)
        start = time.monotonic()
        proc = subprocess.Popen(
            [*tree.enter_argv(slot), *self._prefix(limits, uid, processes), *command],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=pass_fds,
            **options,
        )
        try:
            exceeded = functools.partial(tree.exceeded, slot, limits)
            output, stop = _collect(proc, start + limits.wall_seconds, limits.output_bytes, exceeded)
            timed_out, limited = stop in ("wall", "cpu"), stop == "output"
            if stop:
                self._kill(proc)
            self._after_exit(proc)
            proc.wait()
        finally:
            if proc.returncode is None:  # an exception (Ctrl-C) while it runs: nothing may outlive us
                self._kill(proc)
                proc.wait()
            seconds = time.monotonic() - start  # the command's time, not our bookkeeping after it
            proc.stdout.close()
            tree.kill(slot)
            if uid is not None:
                self._zombies[uid] = _sweep(uid)
        returncode, signum = self._status(proc.returncode)
        output = bytes(output[: limits.output_bytes])
        return Completed(returncode, signum, output, seconds, timed_out, limited, tree.usage(slot))

    # what the two sandboxes do differently

    @abstractmethod
    def _command(
        self, argv: list[str], workdir: Path, limits: Limits, env: dict[str, str]
    ) -> tuple[list[str], dict]: ...

    @abstractmethod
    def _kill(self, proc: subprocess.Popen) -> None: ...

    @abstractmethod
    def _after_exit(self, proc: subprocess.Popen) -> None:
        """Called once the command has exited, been killed or timed out, before it is reaped."""

    def _status(self, returncode: int) -> tuple[int | None, int | None]:
        return (None, -returncode) if returncode < 0 else (returncode, None)

    def _failure(self, done: Completed) -> str:
        output = done.output.decode(errors="replace").strip()
        return f"the {self.name} sandbox cannot run `true` (exit {done.returncode}): {output}"

    def _prepare(self, workdir: Path, uid: int) -> None:
        _give(workdir, uid)

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

    def _tool(self, name: str) -> str:
        if name not in self._tools:
            found = shutil.which(name, path=PATH)
            if found is None:
                raise SandboxError(f"`{name}` is missing: apt-get install -y util-linux")
            self._tools[name] = found
        return self._tools[name]


class Bwrap(Sandbox):
    """bubblewrap: read-only root, private /tmp, /dev and /proc, no network, a pid namespace (the kernel kills
    everything left inside when its first process dies)."""

    name = "bwrap"

    def __init__(self) -> None:
        super().__init__()
        self._binary: str | None = None
        self._version: str | None = None
        self._reachable: set[Path] = set()

    def binary(self) -> str:
        if self._binary is None:
            found = shutil.which("bwrap")
            if found is None:
                raise SandboxError(
                    f"bubblewrap (bwrap) is not installed: {INSTALL_HINT} (or set `sandbox: none` to run the code "
                    "without isolation, an explicit choice the run warns about)"
                )
            self._binary = found
        return self._binary

    def check(self) -> None:
        self.binary()
        super().check()

    def version(self) -> str:
        if self._version is None:
            out = subprocess.run([self.binary(), "--version"], capture_output=True, text=True, check=True)
            self._version = out.stdout.strip()
        return self._version

    def _command(self, argv, workdir, limits, env):
        command = [
            self.binary(),
            "--ro-bind", "/", "/",
            "--dev", "/dev",
            "--proc", "/proc",
            "--size", str(limits.tmpfs_bytes), "--tmpfs", "/tmp",
            "--bind", str(workdir), INSIDE,
            "--chdir", INSIDE,
            "--unshare-all",
            "--die-with-parent",
            "--new-session",
            "--clearenv",
            "--setenv", "PATH", PATH,
            "--setenv", "HOME", "/tmp",
            "--setenv", "LANG", "C.UTF-8",
        ]  # fmt: skip
        for key, value in env.items():
            command += ["--setenv", key, value]
        return [*command, "--", *argv], {"env": {}}

    def _kill(self, proc):
        # Killing the namespace's first process (bwrap's reaper, its child) makes the kernel kill the rest, and bwrap
        # exits only once they are gone. Killing bwrap itself would return before the namespace is empty.
        reapers = _children(proc.pid)
        for pid in reapers:
            _signal(pid)
        if reapers:
            try:
                proc.wait(timeout=SWEEP_SECONDS)
                return
            except subprocess.TimeoutExpired:
                pass  # bwrap is stuck: killing it makes --die-with-parent kill the reaper (below)
        _signal(-proc.pid)  # no reaper yet (killed during set-up)

    def _after_exit(self, proc):
        pass  # what the command left in the namespace dies with bwrap's reaper (--die-with-parent); root sweeps it

    def _status(self, returncode):
        # bwrap reports a command killed by signal N as exit 128+N, the shell's convention (so does bash: a command
        # that itself exits 137 reads as SIGKILL)
        if 128 < returncode <= 128 + 64:
            return None, returncode - 128
        return super()._status(returncode)

    def _failure(self, done):
        return (
            f"bubblewrap is installed but cannot run a command here (exit {done.returncode}): "
            f"{done.output.decode(errors='replace').strip()}\n(unprivileged user namespaces must be allowed; "
            "`sandbox: none` runs the code without isolation, an explicit choice the run warns about)"
        )

    def _prepare(self, workdir, uid):
        # bwrap runs as the slot's uid, so it must be able to reach the folder it binds
        parent = workdir.resolve().parent
        if parent not in self._reachable:
            for folder in (parent, *parent.parents):
                mode = folder.stat()
                if not (mode.st_mode & stat.S_IXOTH or mode.st_uid == uid):
                    raise SandboxError(
                        f"the sandbox runs as uid {uid}, which cannot reach {workdir}: {folder} is not searchable by "
                        f"others (mode {stat.filemode(mode.st_mode)}); `chmod o+x {folder}` or build somewhere else"
                    )
            self._reachable.add(parent)
        super()._prepare(workdir, uid)


class NoSandbox(Sandbox):
    """No isolation: the same limits, environment, uid and timeout, in the host's folder. The code can read and write
    whatever its uid can and reach the network; an explicit choice the run warns about."""

    name = "none"

    def version(self) -> str:
        return "none"

    def _command(self, argv, workdir, limits, env):
        return argv, {"cwd": workdir, "env": {"PATH": PATH, "HOME": str(workdir), "LANG": "C.UTF-8", **env}}

    def _kill(self, proc):
        _signal(-proc.pid)

    def _after_exit(self, proc):
        # the group's leader is a zombie until reaped, so its group id cannot be reused yet: kill what it left running
        _signal(-proc.pid)


SANDBOXES = {"bwrap": Bwrap, "none": NoSandbox}


# --------------------------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------------------------


def _collect(proc: subprocess.Popen, deadline: float, cap: int, exceeded) -> tuple[bytearray, str | None]:
    """Read the merged output until the command exits, the deadline passes ("wall"), the output goes over `cap`
    ("output") or `exceeded()` names a spent budget (asked every CHECK_SECONDS). Returns (output, why it was stopped:
    None when it exited)."""
    fd, output = proc.stdout.fileno(), bytearray()
    pidfd = os.pidfd_open(proc.pid)  # readable once the command has exited (even if a child keeps the pipe open)
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    poller.register(pidfd, select.POLLIN)
    reading, exited, check = True, False, time.monotonic() + CHECK_SECONDS
    try:
        while not exited:
            now = time.monotonic()
            if now >= deadline:
                return output, "wall"
            if now >= check:
                if spent := exceeded():
                    return output, spent
                check = now + CHECK_SECONDS
            for ready, _ in poller.poll((min(deadline, check) - now) * 1000 + 1):
                if ready == pidfd:
                    exited = True
                elif reading:
                    chunk = os.read(fd, READ_CHUNK)
                    if not chunk:
                        reading = False
                        poller.unregister(fd)
                    output += chunk
                    if len(output) > cap:
                        return output, "output"
        if reading:  # what it wrote before exiting is in the pipe; later writers are killed
            os.set_blocking(fd, False)
            while len(output) <= cap:
                try:
                    chunk = os.read(fd, READ_CHUNK)
                except BlockingIOError:
                    break
                if not chunk:
                    break
                output += chunk
        return output, "output" if len(output) > cap else None
    finally:
        os.close(pidfd)


def _signal(pid: int) -> None:
    """SIGKILL a process (or a group: negative pid) that may already be gone."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # it already exited: what we wanted


def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (this kernel has no /proc/PID/task/PID/children)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    fields = f.read().rpartition(b")")[2].split()
            except (FileNotFoundError, ProcessLookupError):
                continue  # exited while we looked
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def leftovers(uid: int) -> list[int]:
    """Live processes of `uid`: what a run must not leave behind."""
    return _processes(uid)[0]


def _processes(uid: int) -> tuple[list[int], int]:
    """(live pids, zombies) of `uid`. The uid is the owner of /proc/PID (reading every status costs 8 ms a scan here);
    a process that made itself non-dumpable shows as root's and is missed: under bwrap its namespace dies anyway."""
    live, zombies = [], 0
    for entry in os.scandir("/proc"):
        try:
            if not (entry.name.isdigit() and entry.stat().st_uid == uid):
                continue
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                state = f.read().rpartition(b")")[2].split(None, 1)[0]
        except (FileNotFoundError, ProcessLookupError):
            continue  # exited while we looked
        if state == b"Z":
            zombies += 1
        else:
            live.append(int(entry.name))
    return live, zombies


def _tasks_of(uid: int) -> int:
    """Tasks (threads: RLIMIT_NPROC counts them) the user runs now."""
    tasks = 0
    for entry in os.scandir("/proc"):
        try:
            if entry.name.isdigit() and entry.stat().st_uid == uid:
                tasks += len(os.listdir(f"/proc/{entry.name}/task"))
        except FileNotFoundError:
            continue  # exited while we counted
    return tasks


def _sweep(uid: int) -> int:
    """Kill every live process of a slot's uid and wait until none is left; return its zombies."""
    deadline = time.monotonic() + SWEEP_SECONDS
    while True:
        live, zombies = _processes(uid)
        if not live:
            return zombies
        if time.monotonic() > deadline:
            raise SandboxError(f"processes {live} of uid {uid} survived SIGKILL for {SWEEP_SECONDS:.0f} s")
        for pid in live:
            _signal(pid)
        time.sleep(0.001)


def _give(workdir: Path, uid: int) -> None:
    """Make the row's folder the slot uid's. Never through a link: a symlink or a hard link the code made could point
    at a host file, which root would then hand over."""
    for root, dirs, files in os.walk(workdir):
        for name in (*dirs, *files):
            _chown(os.path.join(root, name), uid)
    _chown(str(workdir), uid)


def _chown(path: str, uid: int) -> None:
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or (not stat.S_ISDIR(info.st_mode) and info.st_nlink > 1) or info.st_uid == uid:
        return
    os.chown(path, uid, uid, follow_symlinks=False)
