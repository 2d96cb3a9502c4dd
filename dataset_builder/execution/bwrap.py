"""bubblewrap: the isolated sandbox (`sandbox: bwrap`).

What the command sees is built, not inherited: /usr read-only with the merged-usr links (/bin, /lib, ... as the host
has them), the few /etc entries the toolchains read (ETC), the toolchains' own folders outside /usr (the TypeScript
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
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import threading
from pathlib import Path

from dataset_builder.execution import seccomp, workarea
from dataset_builder.execution.processes import SWEEP_SECONDS, SandboxError, _children, _signal
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
        if self._view is None:
            view = ["--ro-bind", "/usr", "/usr"]
            for name in MERGED:
                path = Path("/", name)
                if path.is_symlink():
                    view += ["--symlink", os.readlink(path), str(path)]
                elif path.is_dir():
                    view += ["--ro-bind", str(path), str(path)]
            etc = sorted({p for pattern in ETC for p in Path("/etc").glob(pattern)})
            extra = toolchain_paths() if self._extra is None else tuple(Path(p) for p in self._extra)
            for path in (*etc, *extra):
                view += ["--ro-bind", str(path), str(path)]
            self._view = view
        return self._view

    def _command(self, argv, workdir, limits, env, writable_host):
        command = [
            self.binary(),
            *self.view(),
            "--dev", "/dev",
            "--size", str(limits.shm_bytes), "--tmpfs", "/dev/shm",
            "--proc", "/proc",
            "--size", str(limits.tmpfs_bytes), "--tmpfs", "/tmp",
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
        return [*command, "--seccomp", str(filter_fd), "--", *argv], {"env": {}, "pass_fds": (filter_fd,)}

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


def _work_area(workdir: Path) -> list[str]:
    """/tmp/work in the private /tmp, holding each of the row's files and folders read-only (links are left out: one
    could name a host file)."""
    args = ["--dir", INSIDE]
    with os.scandir(workdir) as entries:
        for entry in entries:
            if entry.is_file(follow_symlinks=False) or entry.is_dir(follow_symlinks=False):
                args += ["--ro-bind", entry.path, f"{INSIDE}/{entry.name}"]
    return args


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
