"""Case "http": N GETs of a 1 KiB file at concurrency 64 from a local server.

The server is Debian's nginx on 127.0.0.1 (see ``nginx.py``), one worker, so
client and server share the machine's cores as they would on a small host.
Every contender makes its own client (and so its own connections) per round,
keeps at most 64 requests in flight, reads every body whole and checks its
size:

- gogoroutines: ``rt.map("http", ..., concurrency=64)`` on a fresh
  ``Runtime(max_concurrency=64)`` (whose HTTP transport keeps 64 idle
  connections per host), and the per-task API on such a runtime (N tasks
  spawned at once, 64 running, the rest queued, then ``gogoroutines.wait``);
- aiohttp and httpx: one ``ClientSession`` / ``AsyncClient`` limited to 64
  connections, 64 coroutines taking requests from a shared counter;
- requests: 64 threads, one ``Session`` each;

  these three stop taking new requests after a cap (10 s; 4 s with ``--quick``)
  so that a slow client cannot take minutes per round: a capped run reports
  the rate it reached and its time for all N projected from it (noted in the
  table);
- pure Go: ``net/http`` with ``MaxIdleConnsPerHost=64`` and 64 goroutines.
"""

from __future__ import annotations

import asyncio
import importlib
import random
import statistics
import string
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import gogoroutines
from gogoroutines import Runtime

from . import nginx
from .harness import (
    CaseResult,
    Config,
    Contender,
    at_least,
    fmt_rate,
    interleaved,
    log,
    ratio_of,
    speed_rows,
)

CONCURRENCY = 64
SIZE = 1024
BATCH = 'gogoroutines rt.map("http", concurrency=64)'
PER_TASK = "gogoroutines rt.go x N, Runtime(max_concurrency=64)"
AIOHTTP = "aiohttp ClientSession (limit 64)"
HTTPX = "httpx.AsyncClient (64 connections)"
REQUESTS = "requests, 64 threads x Session"
PURE_GO = "pure Go net/http (64 goroutines)"
OPTIONAL = {AIOHTTP: "aiohttp", HTTPX: "httpx", REQUESTS: "requests"}


def _check(body: bytes | str) -> None:
    if len(body) != SIZE:
        raise AssertionError(f"got {len(body)} bytes, want {SIZE}")


def gogoroutines_batch(url: str, n: int, timeout: float) -> None:
    with Runtime(max_concurrency=CONCURRENCY) as rt:
        count = 0
        items = ({"url": url} for _ in range(n))
        for body in rt.map("http", items, concurrency=CONCURRENCY, timeout=timeout):
            _check(body)
            count += 1
        if count != n:
            raise AssertionError(f"{count} responses, want {n}")


def gogoroutines_per_task(url: str, n: int, timeout: float) -> None:
    with Runtime(max_concurrency=CONCURRENCY) as rt:
        tasks = [rt.go("http", url=url) for _ in range(n)]
        _, not_done = gogoroutines.wait(tasks, timeout=timeout)
        if not_done:
            raise TimeoutError(f"{len(not_done)} requests unfinished after {timeout:.0f} s")
        for t in tasks:
            _check(t.result_bytes())
            t.close()


class Quota:
    """Hands out at most ``n`` requests, and none once ``cap`` seconds have passed.

    The slow Python clients would otherwise take minutes per round; a capped run
    reports its real rate, and its time for all ``n`` projected from that rate.
    """

    def __init__(self, n: int, cap: float) -> None:
        self.n = n
        self.left = n
        self.cap = cap
        self.start = time.perf_counter()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.left == 0 or time.perf_counter() - self.start > self.cap:
                return False
            self.left -= 1
            return True

    def report(self) -> dict[str, Any]:
        elapsed = time.perf_counter() - self.start
        done = self.n - self.left
        if done == self.n:
            return {"seconds": elapsed, "done": done}
        return {"seconds": elapsed * self.n / max(done, 1), "done": done, "capped_after": elapsed}


def aiohttp_client(url: str, n: int, cap: float) -> dict[str, Any]:
    import aiohttp

    quota = Quota(n, cap)

    async def main() -> None:
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        client_timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(connector=connector, timeout=client_timeout) as session:

            async def worker() -> None:
                while quota.take():
                    async with session.get(url) as resp:
                        resp.raise_for_status()
                        _check(await resp.read())

            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))

    asyncio.run(main())
    return quota.report()


def httpx_client(url: str, n: int, cap: float) -> dict[str, Any]:
    import httpx

    quota = Quota(n, cap)

    async def main() -> None:
        limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:

            async def worker() -> None:
                while quota.take():
                    resp = await client.get(url)
                    resp.raise_for_status()
                    _check(resp.content)

            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))

    asyncio.run(main())
    return quota.report()


def requests_threads(url: str, n: int, cap: float) -> dict[str, Any]:
    import requests

    quota = Quota(n, cap)

    def worker() -> None:
        with requests.Session() as session:
            while quota.take():
                resp = session.get(url, timeout=30)
                resp.raise_for_status()
                _check(resp.content)

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        for f in [pool.submit(worker) for _ in range(CONCURRENCY)]:
            f.result()
    return quota.report()


def available(package: str) -> bool:
    try:
        importlib.import_module(package)
    except ImportError:
        return False
    return True


def missing_packages() -> list[str]:
    return [pkg for pkg in OPTIONAL.values() if not available(pkg)]


def contenders(url: str, n: int, timeout: float, cap: float, gobench: Any) -> dict[str, Contender]:
    out: dict[str, Contender] = {
        BATCH: lambda: gogoroutines_batch(url, n, timeout),
        PER_TASK: lambda: gogoroutines_per_task(url, n, timeout),
        AIOHTTP: lambda: aiohttp_client(url, n, cap),
        HTTPX: lambda: httpx_client(url, n, cap),
        REQUESTS: lambda: requests_threads(url, n, cap),
    }
    if gobench is not None:
        args = ["-url", url, "-n", n, "-c", CONCURRENCY, "-size", SIZE, "-timeout", f"{timeout}s"]
        out[PURE_GO] = lambda: gobench.run("http", *args, timeout=timeout + 30)
    return out


def run(cfg: Config) -> CaseResult:
    n = 2_000 if cfg.quick else 20_000
    rounds = cfg.pick_rounds(5)
    timeout = 60.0 if cfg.quick else 180.0  # a failure: the fast clients need ~1 s
    cap = 4.0 if cfg.quick else 10.0  # the Python clients stop taking requests after this
    notes = []
    root = cfg.scratch / "www"
    root.mkdir(exist_ok=True)
    # ASCII, so that the batch path's str results are the body itself
    body = "".join(random.choices(string.ascii_letters + string.digits, k=SIZE))
    (root / "1k.bin").write_text(body)
    with nginx.serve(
        root, allow_install=cfg.allow_install, use_nginx=cfg.http_server != "python"
    ) as server:
        url = f"{server.base_url}/1k.bin"
        log(f"  http: serving {url} with {server.label}")
        if server.note:
            notes.append(f"http: {server.note}")
        case = f"http {n:,} GETs x 1 KiB, concurrency 64, {server.label}"
        all_contenders = contenders(url, n, timeout, cap, cfg.gobench)
        for name, package in OPTIONAL.items():
            if not available(package):
                del all_contenders[name]
                notes.append(f"http: {name} skipped ({package} is not installed)")
        if cfg.gobench is None:
            notes.append("http: pure Go skipped (no Go toolchain)")
        samples = interleaved("http", all_contenders, rounds, budget=40 if cfg.quick else 200)
    reference = AIOHTTP if AIOHTTP in samples else BATCH
    rows = speed_rows(case, samples, reference, lambda m: fmt_rate(n / m, "req/s"))
    for row in rows:
        capped = [e["done"] for e in samples[row.contender].extra if "capped_after" in e]
        if capped:
            row.note = (
                f"capped at {cap:.0f} s in {len(capped)} of {row.rounds} rounds, "
                f"~{statistics.median(capped):,.0f} of {n:,} GETs; time projected"
            )
    go_ratio = ratio_of(samples, BATCH, PURE_GO)  # batch req/s ÷ Go req/s
    targets = [
        at_least(case, "rt.map http >= 3x aiohttp (req/s)", ratio_of(samples, BATCH, AIOHTTP), 3),
        at_least(case, "rt.map http >= 0.8x pure Go req/s", go_ratio, 0.8),
    ]
    data = {
        "n": n,
        "concurrency": CONCURRENCY,
        "body_bytes": SIZE,
        "rounds": rounds,
        "server": server.label,
        "server_is_nginx": server.is_nginx,
        "nginx_version": server.version,
        "reference": reference,
        "contenders": {k: v.to_json() for k, v in samples.items()},
    }
    return CaseResult("http", rows, targets, notes, data)
