"""bubblewrap: the isolated sandbox (`sandbox: bwrap`).

What the command sees is built, not inherited: /usr read-only with the merged-usr links (/bin, /lib, ... as the host
has them), the few /etc entries the toolchains read (ETC: a copy made once per sandbox, bound as /etc in one piece,
as each bind costs every run a mount), the toolchains' own folders outside /usr (the TypeScript
tools folder, a JDK or Rust toolchain found elsewhere: `toolchain_paths`), a fresh /dev with a size-capped /dev/shm,
its own /proc, and a size-capped /tmp. Nothing of /home, /root, /srv, /var, /run, /mnt, /opt or /media, no other
row's folder and no output folder, so neither the code nor a compiler's error message can show a host secret, and no
host unix socket can be reached. Namespaces: all of them (no network), the user namespace unshared with nested ones
disabled (`--disable-userns`), and a syscall filter (`seccomp.py`).

A run step (`writable_host=False`) works in /tmp/work, a folder of that /tmp into which the row's files are bound
read-only: what the tests write stays in the tmpfs (bounded by `Limits.tmpfs_bytes`) and vanishes with the run.
tmpfs has no inode cap that bwrap 0.8 can set: a run creating empty files is bounded by its wall clock and, once the
cgroup limits apply, by kernel memory. A compile step (`writable_host=True`) binds the row's host folder read-write
there, so the compiler's output stays for the run (compilers run none of the row's code; RLIMIT_FSIZE bounds files).

The namespace's first process is coreutils' `timeout 0` (`--as-pid-1`; no time limit: it only waits for the command
and exits with its status, printing nothing). When it exits, the kernel kills everything left in the namespace before
bwrap can reap it, so when bwrap exits nothing the command started is running, as root or not. bwrap's own reaper
would not give that: bwrap exits on the command's status while its reaper lives on, orphaned, until init collects it.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
import weakref
from pathlib import Path

from dataset_builder.execution import seccomp, workarea
from dataset_builder.execution.processes import SWEEP_SECONDS, SandboxError, _signal
from dataset_builder.execution.sandbox import INSTALL_HINT, PATH, Sandbox

INSIDE = "/tmp/work"  # the row's folder inside the sandbox, and its working directory
MERGED = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")  # links into /usr on merged-usr systems (Debian 12)
# /etc entries the toolchains read: the dynamic linker's cache, Debian's alternatives (java, javac, node, php go
# through them), the JDK's conf (its conf/ and lib/security link there), Mono's and PHP's configuration, the time zone
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "java-*-openjdk", "mono", "php", "localtime",
       "locale.alias", "python3", "python3.*")  # fmt: skip
_TOOLCHAIN_PATHS: dict[tuple[str, str], tuple[Path, ...]] = {}
_TOOLCHAIN_LOCK = threading.Lock()


def toolchain_paths() -> tuple[Path, ...]:
    """Folders outside /usr that the installed toolchains run from (looked up once per process)."""
    from dataset_builder.execution import toolchains

    key = (str(toolchains.tools_dir()), os.environ.get("PATH", ""))
    with _TOOLCHAIN_LOCK:
        if key not in _TOOLCHAIN_PATHS:
            found: list[Path] = []
            tools = toolchains.tools_dir()
            if tools.is_dir():
                found.append(tools.resolve())
            for language in toolchains.LANGUAGES:
                toolchain = toolchains.find(language)
                for binary in toolchain.binaries.values() if toolchain else ():
                    path = Path(binary).resolve()
                    if path.is_relative_to("/usr") or any(path.is_relative_to(p) for p in found):
                        continue
                    found.append(_install_folder(path))
            _TOOLCHAIN_PATHS[key] = tuple(found)
        return _TOOLCHAIN_PATHS[key]


def _install_folder(binary: Path) -> Path:
    """What to bind for a binary outside /usr: its installation (`<prefix>` of `<prefix>/bin/<name>`, or its folder),
    never `/`, a top-level folder or a home directory (then the binary alone)."""
    folder = binary.parent.parent if binary.parent.name == "bin" else binary.parent
    homes = {Path.home(), Path("/root")}
    if len(folder.parts) < 3 or folder in homes or folder.parent == Path("/home"):
        return binary
    return folder


class Bwrap(Sandbox):
    """bubblewrap: the view of the module docstring, private /tmp, /dev and /proc, no network, a pid namespace (the
    kernel kills everything left inside when its first process dies), no nested user namespaces, a syscall filter.
    `extra_ro_paths` are bound read-only at the same place (default: `toolchain_paths()`)."""

    name = "bwrap"

    def __init__(self, extra_ro_paths: tuple[Path, ...] | None = None) -> None:
        super().__init__()
        self._binary: str | None = None
        self._version: str | None = None
        self._reachable: set[Path] = set()
        self._extra = extra_ro_paths
        self._view: list[str] | None = None
        self._view_tmp: list[str] = []  # the read-only paths under /tmp (`view`)
        self._etc_copy: Path | None = None  # the view's /etc (`_etc`)
        self._etc_finalizer: weakref.finalize | None = None

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
        seccomp.bpf()
        super().check()

    def version(self) -> str:
        if self._version is None:
            out = subprocess.run([self.binary(), "--version"], capture_output=True, text=True, check=True)
            self._version = out.stdout.strip()
        return self._version

    def view(self) -> list[str]:
        """bwrap's arguments for the read-only part of the filesystem (computed once per sandbox)."""
        if self._etc_copy is not None and not self._etc_copy.is_dir():  # removed under us (a /tmp cleaner)
            self._etc_copy = self._view = None
        if self._view is None:
            view = ["--ro-bind", "/usr", "/usr"]
            for name in MERGED:
                path = Path("/", name)
                if path.is_symlink():
                    view += ["--symlink", os.readlink(path), str(path)]
                elif path.is_dir():
                    view += ["--ro-bind", str(path), str(path)]
            view += ["--ro-bind", str(self._etc()), "/etc"]
            extra = toolchain_paths() if self._extra is None else tuple(Path(p) for p in self._extra)
            extra = tuple(p for p in extra if not _in_usr(Path(p)))  # /usr is in the view already
            under_tmp = []  # bound once the private /tmp is there, or it would hide them (a checkout in /tmp)
            for path in extra:
                if Path(path).is_relative_to("/tmp"):
                    under_tmp += ["--ro-bind", str(path), str(path)]
                else:
                    view += ["--ro-bind", str(path), str(path)]
            self._view, self._view_tmp = view, under_tmp
        return self._view

    def _etc(self) -> Path:
        """A folder holding a copy of the ETC entries, made once per sandbox and bound as the view's /etc: one bind
        instead of one per entry (each bind is a mount in every run, for which bwrap rereads the mount table).
        Links are copied as links; what this process cannot read is left out, as the sandbox's uid could not read
        it through a bind either."""
        if self._etc_copy is None:
            folder = Path(tempfile.mkdtemp(prefix="oss-sandbox-etc-"))
            self._etc_finalizer = weakref.finalize(self, shutil.rmtree, folder, ignore_errors=True)
            etc = folder / "etc"
            etc.mkdir()
            for path in sorted({p for pattern in ETC for p in Path("/etc").glob(pattern)}):
                _copy_entry(path, etc / path.name)
            for made in (folder, *(Path(d) for d, _, _ in os.walk(etc))):
                os.chmod(made, 0o755)  # as root the sandbox's uid reads it (mkdtemp makes 0700)
            self._etc_copy = etc
        return self._etc_copy

    def close(self) -> None:
        super().close()
        if self._etc_finalizer is not None:
            self._etc_finalizer()
            self._etc_copy = self._etc_finalizer = self._view = None

    def _command(self, argv, workdir, limits, env, writable_host):
        command = [
            self.binary(),
            *self.view(),
            "--dev", "/dev",
            "--size", str(limits.shm_bytes), "--tmpfs", "/dev/shm",
            "--proc", "/proc",
            "--size", str(limits.tmpfs_bytes), "--tmpfs", "/tmp",
            *self._view_tmp,
            *(["--bind", str(workdir), INSIDE] if writable_host else _work_area(workdir)),
            "--remount-ro", "/",  # the root bwrap builds is a tmpfs of its own: no cap, so nothing may be written
            "--chdir", INSIDE,
            "--unshare-all",
            "--unshare-user",
            "--disable-userns",
            "--die-with-parent",
            "--new-session",
            "--clearenv",
            "--setenv", "PATH", PATH,
            "--setenv", "HOME", "/tmp",
            "--setenv", "LANG", "C.UTF-8",
        ]  # fmt: skip
        for key, value in env.items():
            command += ["--setenv", key, value]
        filter_fd = _pipe_of(seccomp.bpf())
        info_read, info_write = os.pipe()  # bwrap writes the pid of the namespace's first process there
        # the namespace's first process (module docstring): 128+N when the command died of signal N
        init = [self._tool("timeout", "coreutils", "/usr/bin"), "0"]  # /usr is in the view
        command += ["--info-fd", str(info_write), "--seccomp", str(filter_fd), "--as-pid-1", "--", *init, *argv]
        return command, {"env": {}, "pass_fds": (filter_fd, info_write), "info_fd": info_read}

    def _started(self, proc, info, deadline):
        """A pidfd of the pid namespace's first process, from what bwrap writes on --info-fd as soon as it has made
        it; None when bwrap failed before. bwrap dies of SIGPIPE if it writes after we closed the pipe, leaving its
        child waiting forever: so the pipe is read to its end, or bwrap killed first."""
        try:
            child, late = _read_child_pid(info, deadline)
            if late:  # nothing by the deadline: the run is over anyway (bwrap is not reaped yet: its pid is its own)
                _signal(-proc.pid)  # bwrap and its child (in bwrap's group until it has set up the namespace)
        finally:
            os.close(info)
        if child is None:
            return None
        try:
            pidfd = os.pidfd_open(child)
        except ProcessLookupError:
            return None  # it has exited and been reaped: the namespace is empty
        try:  # the pid is ours until bwrap reaps it; after that it could name another process only if reused at once
            status = Path(f"/proc/{child}/status").read_text()
        except (FileNotFoundError, ProcessLookupError):
            return pidfd  # gone since: polling the pidfd says so at once
        nspid = next((line.split()[1:] for line in status.splitlines() if line.startswith("NSpid:")), [])
        if nspid[-1:] != ["1"]:  # reaped and the pid reused at once: it was gone, so was the namespace
            os.close(pidfd)
            return None
        return pidfd

    def _kill(self, proc, watch):
        # Killing the namespace's first process (bwrap's child) makes the kernel kill the rest, and bwrap exits once
        # it is gone. Killing bwrap itself would return before the namespace is empty.
        if watch is not None:
            try:
                signal.pidfd_send_signal(watch, signal.SIGKILL)
            except ProcessLookupError:
                pass  # it has exited already: what we wanted
            try:
                proc.wait(timeout=SWEEP_SECONDS)
                return
            except subprocess.TimeoutExpired:
                pass  # bwrap is stuck: killing it makes --die-with-parent kill its child (below)
        _signal(-proc.pid)  # no child yet (killed during set-up): bwrap's group

    def _after_exit(self, proc, watch):
        """bwrap has exited: its child, the namespace's first process, has exited too, after the kernel killed the
        rest (module docstring). Checked, not assumed: a namespace still alive here is a bug, not a verdict."""
        if watch is None or select.select([watch], [], [], SWEEP_SECONDS)[0]:
            return
        try:
            signal.pidfd_send_signal(watch, signal.SIGKILL)
        except ProcessLookupError:
            return
        if not select.select([watch], [], [], SWEEP_SECONDS)[0]:
            raise SandboxError(f"the namespace of bwrap {proc.pid} survived SIGKILL for {SWEEP_SECONDS:.0f} s")

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

    def _prepare(self, workdir, uid, writable_host):
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
        if writable_host:  # a run step only reads the row's files (bound read-only), so they may stay ours
            workarea.give(workdir, uid)


def _in_usr(path: Path) -> bool:
    """Whether the view's /usr shows `path` already: it is in /usr, and so is what it resolves to."""
    return path.is_relative_to("/usr") and path.resolve().is_relative_to("/usr")


def _copy_entry(source: Path, target: Path) -> None:
    """Copy a file, a link (as a link) or a folder's tree; an entry this process cannot read is left out."""
    try:
        if source.is_symlink():
            os.symlink(os.readlink(source), target)
        elif source.is_dir():
            target.mkdir()
            for child in sorted(source.iterdir()):
                _copy_entry(child, target / child.name)
        elif source.is_file():
            shutil.copyfile(source, target)
            os.chmod(target, 0o644 if source.stat().st_mode & stat.S_IROTH else 0o600)
    except PermissionError:
        return  # unreadable here: the sandbox's uid could not have read it through a bind either


def _work_area(workdir: Path) -> list[str]:
    """/tmp/work in the private /tmp, holding each of the row's files and folders read-only (links are left out: one
    could name a host file)."""
    args = ["--dir", INSIDE]
    with os.scandir(workdir) as entries:
        for entry in entries:
            if entry.is_file(follow_symlinks=False) or entry.is_dir(follow_symlinks=False):
                args += ["--ro-bind", entry.path, f"{INSIDE}/{entry.name}"]
    return args


def _read_child_pid(fd: int, deadline: float) -> tuple[int | None, bool]:
    """(the "child-pid" of bwrap's --info-fd JSON, None if absent; whether the deadline passed first). bwrap writes it
    and closes the pipe right after it cloned the namespace's first process; it closes it without (at exit) when it
    failed before."""
    data = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None, True
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return (json.loads(data).get("child-pid") if data.strip() else None), False


def _pipe_of(data: bytes) -> int:
    """The read end of a pipe holding `data` (bwrap reads the filter to its end)."""
    if len(data) > 1 << 16:
        raise SandboxError(f"the syscall filter ({len(data)} bytes) does not fit a pipe's buffer")
    read, write = os.pipe()
    try:
        os.write(write, data)
    finally:
        os.close(write)
    return read
