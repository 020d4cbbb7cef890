"""Fan gogoroutines tasks out over a local Dask cluster of two worker processes.

    pip install "gogoroutines[dask]"   # tqdm too, for a progress bar
    python examples/dask_fanout.py [--urls 4000] [--files 200]

The script starts an HTTP server on 127.0.0.1 (a thread of this process), writes
temporary files, then runs two ``gogoroutines.dask.map`` calls on the cluster:
``http`` over the server's URLs and ``hash`` over the files. Each result is checked
against what this process computes itself. It exits 0 on success, after a few
seconds; every loop is bounded.

Go never starts in this process: only the workers (started with Dask's default
``'spawn'`` method) run gogoroutines.
"""

from __future__ import annotations

import argparse
import hashlib
import http.server
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import dask
import distributed

import gogoroutines
import gogoroutines.dask


class Handler(http.server.BaseHTTPRequestHandler):
    """GET /item/<n> answers "item <n>"."""

    protocol_version = "HTTP/1.1"  # keep-alive: the workers reuse their connections
    disable_nagle_algorithm = True  # headers and body in one segment
    timeout = 10.0  # an idle keep-alive connection ends after this

    def do_GET(self) -> None:
        body = f"item {self.path.rsplit('/', 1)[-1]}".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # many connections arrive at once


def main() -> int:
    parser = argparse.ArgumentParser(description="gogoroutines.dask.map on a local cluster")
    parser.add_argument("--urls", type=int, default=4000, help="URLs to fetch (max 100000)")
    parser.add_argument("--files", type=int, default=200, help="files to hash (max 2000)")
    args = parser.parse_args()
    n_urls, n_files = min(args.urls, 100_000), min(args.files, 2000)

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    started = time.monotonic()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="dask_fanout_") as folder,
            dask.config.set({"distributed.worker.multiprocessing-method": "spawn"}),
            distributed.LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            # Fetch: one http task per URL, 500 per Dask task, 32 at once in each worker.
            urls = (f"{base}/item/{i}" for i in range(n_urls))  # read lazily
            items = ({"url": url, "retries": 2} for url in urls)
            fetched = 0
            for i, body in enumerate(
                gogoroutines.dask.map(
                    client, "http", items, batch_size=500, concurrency=32, progress=True
                )
            ):
                if body != f"item {i}":
                    print(f"URL {i}: unexpected body {body!r}", file=sys.stderr)
                    return 1
                fetched += 1

            # Hash: files written here, hashed in the workers (same machine, same paths).
            paths = []
            expected = []
            for i in range(n_files):
                data = os.urandom(16 * 1024 + i)
                path = Path(folder, f"file_{i:04d}.bin")
                path.write_bytes(data)
                paths.append(str(path))
                expected.append(hashlib.sha256(data).hexdigest())
            digests = list(
                gogoroutines.dask.map(
                    client,
                    "hash",
                    [{"path": p, "algorithm": "sha256"} for p in paths],
                    batch_size=50,
                    progress=True,
                )
            )
            if digests != expected:
                print("some digests differ from hashlib's", file=sys.stderr)
                return 1
    finally:
        server.shutdown()
        server.server_close()
    seconds = time.monotonic() - started
    loaded = gogoroutines._loader.is_loaded()
    print(
        f"fetched {fetched} URLs and hashed {len(digests)} files on 2 Dask workers "
        f"in {seconds:.1f} s; Go started in this process: {loaded}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
