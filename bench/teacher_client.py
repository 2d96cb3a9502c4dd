"""Benchmark: the live teacher client (`OpenAITeacher`) against a loopback server with random latency.

Three ways of sending the same kind of requests to `tests/helpers/teacher_server.py` (latency uniform in
[--latency-min, --latency-max] per request, no capacity limit):

  ours        `OpenAITeacher.run`: `concurrency` workers on one shared queue, every answer journaled
  sequential  one `openai.OpenAI().chat.completions.create` call at a time, as in the Magicoder release
  chunked     `asyncio.gather` over chunks of `concurrency` requests (each chunk waits for its slowest request)

The server runs in its own process (a fresh one per method), so the client's CPU time is measured alone. Server-side
numbers come from the server's in-flight accounting: the time-averaged number of requests in flight, and the mean
latency as (integral of in-flight over time) / (requests served), which is each request's time inside the server.

    python -m bench.teacher_client [--requests 2000] [--concurrency 64] [--sequential-requests 100]
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import multiprocessing as mp
import os
import random
import tempfile
import threading
import time
from pathlib import Path

SAMPLE_EVERY = 0.01  # seconds between samples of the server's in-flight count


# --------------------------------------------------------------------------------------------------------------
# The server, in a child process
# --------------------------------------------------------------------------------------------------------------


def _serve(conn, latency: tuple[float, float]) -> None:
    """Child process: run a TeacherServer until told to stop, then send back its accounting and CPU time."""
    from tests.helpers.teacher_server import TeacherServer

    cpu0 = time.process_time()
    server = TeacherServer(latency=latency).start()
    samples: list[int] = []  # requests in flight every SAMPLE_EVERY seconds, once the first request arrived
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(SAMPLE_EVERY):
            if server._first is not None:
                samples.append(server.in_flight)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    conn.send(server.base_url)
    conn.recv()  # "stop"
    stop.set()
    sampler.join()
    served = sum(server.attempts.values())
    # Steady state: the middle 80% of the samples taken while busy (drops the ramp-up and the final drain).
    busy = samples[: max(i + 1 for i, n in enumerate(samples) if n)] if any(samples) else []
    middle = busy[len(busy) // 10 : len(busy) - len(busy) // 10]
    conn.send(
        {
            "served": served,
            "mean_in_flight": server.mean_in_flight(),
            "max_in_flight": server.max_in_flight,
            "span_s": server.span_seconds(),
            "mean_latency_s": server._busy_integral / served if served else float("nan"),
            "cpu_s": time.process_time() - cpu0,
            "steady_in_flight": sum(middle) / len(middle) if middle else float("nan"),
        }
    )
    server.stop()
    conn.close()


class ServerProcess:
    def __init__(self, latency: tuple[float, float]):
        self.latency = latency

    def __enter__(self) -> ServerProcess:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, self.latency), daemon=True)
        self.proc.start()
        if not self.conn.poll(60):
            raise RuntimeError("teacher server process did not start within 60 s")
        self.base_url = self.conn.recv()
        self.stats = None
        return self

    def stop(self) -> dict:
        self.conn.send("stop")
        self.stats = self.conn.recv()
        return self.stats

    def __exit__(self, *exc) -> None:
        if self.stats is None and self.proc.is_alive():
            self.proc.terminate()
        self.proc.join(10)


# --------------------------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------------------------

SNIPPET_TEMPLATES = (
    """def {name}(items, limit={n}):
    out = []
    for i, item in enumerate(items):
        if i >= limit:
            break
        if item is None:
            continue
        out.append(item * {n})
    return out
# end {name}""",
    """fn {name}(v: &[i64]) -> i64 {{
    let mut acc = 0;
    for x in v {{
        if *x > {n} {{
            acc += x;
        }}
    }}
    // {name}
    acc
}}""",
    """public int {name}(int[] a) {{
    int best = {n};
    for (int x : a) {{
        if (x > best) {{
            best = x;
        }}
    }}
    // {name}
    return best;
}}""",
)


def make_requests(count: int, base_seed: int = 976, max_tokens: int = 512):
    from dataset_builder import prompts
    from dataset_builder.teacher.base import Request

    requests = []
    for i in range(count):
        code = SNIPPET_TEMPLATES[i % len(SNIPPET_TEMPLATES)].format(name=f"fn_{i}", n=i % 97)
        requests.append(Request(i, prompts.messages(code), base_seed + i, max_tokens))
    return requests


class NoProgress:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, *args, **kwargs) -> None:
        pass


# --------------------------------------------------------------------------------------------------------------
# The three methods
# --------------------------------------------------------------------------------------------------------------


def run_ours(base_url: str, requests, concurrency: int, use_tqdm: bool) -> dict:
    import openai  # noqa: F401 - the backend imports it lazily; import it here so that it is not timed
    from tqdm.auto import tqdm

    from dataset_builder.config import BuilderConfig
    from dataset_builder.teacher.base import Accounting, TeacherSettings
    from dataset_builder.teacher.openai_api import OpenAITeacher
    from dataset_builder.teacher.pricing import Prices
    from oss_common.journal import Journal

    model = "fake-teacher"
    config = BuilderConfig(teacher_model=model, teacher_base_url=base_url, concurrency=concurrency)
    settings = TeacherSettings(
        model=model,
        base_url=base_url,
        temperature=config.temperature,
        top_p=config.top_p,
        concurrency=concurrency,
        request_timeout=60.0,
        max_retries=config.max_retries,
    )
    backend = OpenAITeacher(settings, run_dir=None)
    accounting = Accounting(Prices(model, None, None, batch=False))
    with tempfile.TemporaryDirectory(prefix="bench_teacher_") as tmp:
        journal = Journal(Path(tmp) / "responses.jsonl")
        progress = tqdm(total=len(requests), desc="ours", unit="req") if use_tqdm else NoProgress()
        cpu0, t0 = time.process_time(), time.perf_counter()
        with journal:
            backend.run(iter(requests), len(requests), journal, accounting, progress)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        if use_tqdm:
            progress.close()
        rows = list(journal.rows())
    indices = [row["raw_index"] for row in rows]
    expected = [r.raw_index for r in requests]
    if len(rows) != len(requests) or sorted(indices) != sorted(expected):
        missing = sorted(set(expected) - set(indices))
        raise SystemExit(
            f"FAIL: the journal holds {len(rows)} rows ({len(set(indices))} distinct) for {len(requests)} requests; "
            f"missing {len(missing)} (first: {missing[:10]})"
        )
    if any(not row["response"] for row in rows):
        raise SystemExit("FAIL: some journal rows have an empty response")
    return {"wall_s": wall, "cpu_s": cpu, "done": len(rows)}


def run_sequential(base_url: str, requests) -> dict:
    import openai

    client = openai.OpenAI(api_key="EMPTY", base_url=base_url, max_retries=2, timeout=60.0)
    cpu0, t0 = time.process_time(), time.perf_counter()
    done = 0
    for request in requests:
        completion = client.chat.completions.create(**request.body("fake-teacher", 0.0, None))
        done += bool(completion.choices[0].message.content)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    client.close()
    if done != len(requests):
        raise SystemExit(f"FAIL: sequential loop got {done} answers for {len(requests)} requests")
    return {"wall_s": wall, "cpu_s": cpu, "done": done}


def run_chunked(base_url: str, requests, chunk: int) -> dict:
    import openai

    async def main() -> int:
        done = 0
        async with openai.AsyncOpenAI(api_key="EMPTY", base_url=base_url, max_retries=2, timeout=60.0) as client:
            for start in range(0, len(requests), chunk):
                batch = requests[start : start + chunk]
                answers = await asyncio.gather(
                    *(client.chat.completions.create(**r.body("fake-teacher", 0.0, None)) for r in batch)
                )
                done += sum(bool(a.choices[0].message.content) for a in answers)
        return done

    cpu0, t0 = time.process_time(), time.perf_counter()
    done = asyncio.run(main())
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    if done != len(requests):
        raise SystemExit(f"FAIL: chunked gather got {done} answers for {len(requests)} requests")
    return {"wall_s": wall, "cpu_s": cpu, "done": done}


def zero_overhead_bound(count: int, concurrency: int, latency: tuple[float, float]) -> tuple[float, float]:
    """(in-flight / concurrency, requests/s) of a client with no overhead at all: a simulated shared queue.

    Uses the server's own per-request latency, `Random(f"{row}:{attempt}").uniform(lo, hi)` (first attempts), so
    the only loss left is the final drain, when fewer requests than workers remain.
    """
    lat = [random.Random(f"{row}:1").uniform(*latency) for row in range(count)]
    free = [0.0] * min(concurrency, count)
    for seconds in lat:
        heapq.heappush(free, heapq.heappop(free) + seconds)
    span = max(free)
    return sum(lat) / (span * concurrency), count / span


# --------------------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------------------


def measure(name: str, latency, fn, *args) -> dict:
    print(f"running {name} ...", flush=True)
    with ServerProcess(latency) as server:
        result = fn(server.base_url, *args)
        result |= {f"server_{k}": v for k, v in server.stop().items()}
    if result["server_served"] != result["done"]:
        print(f"  note: the server saw {result['server_served']} requests for {result['done']} answers (retries)")
    print(f"  {result['done']} requests in {result['wall_s']:.1f} s", flush=True)
    return result


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=2000, help="requests for ours and for the chunked baseline")
    p.add_argument("--concurrency", type=int, default=64, help="requests in flight (ours) / chunk size (chunked)")
    p.add_argument("--sequential-requests", type=int, default=100, help="requests for the one-at-a-time baseline")
    p.add_argument("--latency-min", type=float, default=0.1, help="server latency lower bound, seconds")
    p.add_argument("--latency-max", type=float, default=1.0, help="server latency upper bound, seconds")
    p.add_argument("--tqdm", action="store_true", help="drive a real tqdm bar in `ours` (default: a no-op progress)")
    p.add_argument("--skip-baselines", action="store_true", help="run only `ours`")
    return p


def main(args: argparse.Namespace) -> None:
    latency = (args.latency_min, args.latency_max)
    c = args.concurrency
    requests = make_requests(args.requests)
    print(
        f"cpus {os.cpu_count()}, load average at start {os.getloadavg()[0]:.2f} (numbers are noisy on a busy machine)"
    )
    print(
        f"teacher client benchmark: {args.requests} requests, concurrency {c}, server latency uniform{latency} s "
        f"(analytic mean {sum(latency) / 2:.3f} s), server in a separate process"
    )
    results = {"ours": measure("ours (OpenAITeacher.run)", latency, run_ours, requests, c, args.tqdm)}
    if not args.skip_baselines:
        seq = requests[: args.sequential_requests]
        results["sequential"] = measure("sequential (Magicoder release loop)", latency, run_sequential, seq)
        results["chunked"] = measure("chunked asyncio.gather", latency, run_chunked, requests, c)

    ours = results["ours"]
    ours_rps = ours["done"] / ours["wall_s"]
    print()
    print("req/s = answered requests / client wall time (includes client start-up and the final drain)")
    print("ideal = concurrency / mean latency; mean latency is MEASURED server-side per method as (integral of")
    print("  in-flight over time) / requests served; the sequential loop's ideal uses concurrency 1")
    print("in-flight/conc = server's time-averaged in-flight from first request to last answer, over concurrency;")
    print("  steady = the same over the middle 80% of 10 ms samples (no ramp-up, no drain)")
    print("CPU s/1k = CPU seconds per 1,000 requests: client = this process, server = its own process")
    header = (
        f"{'method':<11} {'requests':>8} {'wall s':>7} {'req/s':>7} {'ideal':>7} {'ach/ideal':>9} "
        f"{'in-flight/conc':>14} {'steady':>6} {'max':>4} {'lat ms':>6} {'cli CPU s/1k':>12} {'srv CPU s/1k':>12} "
        f"{'ours x':>7}"
    )
    print(header)
    print("-" * len(header))
    for name, r in results.items():
        conc = 1 if name == "sequential" else c
        rps = r["done"] / r["wall_s"]
        lat = r["server_mean_latency_s"]
        ideal = conc / lat
        print(
            f"{name:<11} {r['done']:>8} {r['wall_s']:>7.2f} {rps:>7.1f} {ideal:>7.1f} {rps / ideal:>9.3f} "
            f"{r['server_mean_in_flight'] / conc:>14.3f} {r['server_steady_in_flight'] / conc:>6.3f} "
            f"{r['server_max_in_flight']:>4} {lat * 1000:>6.0f} {1000 * r['cpu_s'] / r['done']:>12.3f} "
            f"{1000 * r['server_cpu_s'] / r['done']:>12.3f} {ours_rps / rps:>7.2f}"
        )
    print()
    ratio = ours["server_mean_in_flight"] / c
    bound_ratio, bound_rps = zero_overhead_bound(ours["done"], c, latency)
    verdict = "OK" if ratio >= 0.95 else "BELOW GOAL"
    print(f"ours: journal holds all {ours['done']} rows (verified: exactly one row per raw_index)")
    steady = ours["server_steady_in_flight"] / c
    print(f"ours: in-flight / concurrency = {ratio:.3f} (goal >= 0.95: {verdict}); steady state {steady:.3f}")
    print(f"ours: server busy span {ours['server_span_s']:.2f} s of {ours['wall_s']:.2f} s client wall time")
    print(
        f"ours: a zero-overhead client on the same latencies reaches {bound_ratio:.3f} and {bound_rps:.1f} req/s "
        f"(the final drain alone); ours gets {ratio / bound_ratio:.3f} and {ours_rps / bound_rps:.3f} of that"
    )
    mean = sum(latency) / 2
    analytic = c / mean
    print(f"ours: {ours_rps:.1f} req/s vs analytic ideal {analytic:.1f} (= {c} / {mean} s): {ours_rps / analytic:.3f}")
    if not args.skip_baselines:
        seq, chunked = results["sequential"], results["chunked"]
        seq_rps, chunked_rps = seq["done"] / seq["wall_s"], chunked["done"] / chunked["wall_s"]
        expected = (sum(latency) / 2) / (latency[0] + (latency[1] - latency[0]) * c / (c + 1))
        print(
            f"chunked: in-flight / concurrency = {chunked['server_mean_in_flight'] / c:.3f} "
            f"(mean / expected max of {c} latencies = {expected:.3f}, before overhead)"
        )
        print(f"speed-up over sequential: {ours_rps / seq_rps:.1f}x ({ours_rps:.1f} vs {seq_rps:.2f} req/s)")
        print(f"speed-up over chunked: {ours_rps / chunked_rps:.2f}x ({ours_rps:.1f} vs {chunked_rps:.1f} req/s)")


if __name__ == "__main__":
    main(make_parser().parse_args())
