"""Shared fixtures of the gogoroutines test suite."""

from __future__ import annotations

import base64
import collections
import contextlib
import gzip
import http.server
import itertools
import json
import os
import select
import shutil
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import gogoroutines
from gogoroutines import Runtime

# A hang guard, never a performance expectation: the machine is shared and noisy.
HANG_GUARD = 30.0

RunScript = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def rt() -> Iterator[Runtime]:
    """A fresh runtime, closed after the test."""
    runtime = Runtime()
    yield runtime
    runtime.close()


@pytest.fixture
def php_api() -> Iterator[None]:
    """A fresh default runtime for the PHP extension's API (go_* ids start at 1 again)."""
    gogoroutines.default_runtime().close()
    yield
    gogoroutines.default_runtime().close()


def wakeups(thread: threading.Thread) -> int:
    """How many times the thread has gone to sleep and been woken so far.

    Linux's count of its voluntary context switches: a thread blocked in one
    wait adds nothing until it is woken.
    """
    path = Path(f"/proc/self/task/{thread.native_id}/status")
    if not path.exists():
        pytest.skip("needs Linux's /proc/self/task/<tid>/status")
    for line in path.read_text().splitlines():
        if line.startswith("voluntary_ctxt_switches:"):
            return int(line.split()[1])
    pytest.skip("no voluntary_ctxt_switches in /proc/self/task/<tid>/status")


def child_env() -> dict[str, str]:
    """The environment of a child Python: no inherited warning or startup tweaks."""
    env = dict(os.environ)
    for name in ("PYTHONWARNINGS", "PYTHONSTARTUP", "PYTHONINSPECT"):
        env.pop(name, None)
    return env


@pytest.fixture
def write_script(tmp_path: Path) -> Callable[[str], Path]:
    """Write dedented Python source to a new file under tmp_path and return its path."""
    counter = itertools.count()

    def write(source: str) -> Path:
        path = tmp_path / f"script_{next(counter)}.py"
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        return path

    return write


@pytest.fixture
def run_script(write_script: Callable[[str], Path], tmp_path: Path) -> RunScript:
    """Run Python source in a new interpreter; returns the CompletedProcess (text)."""

    def run(
        source: str, *args: str, timeout: float = HANG_GUARD
    ) -> subprocess.CompletedProcess[str]:
        path = write_script(source)
        return subprocess.run(
            [sys.executable, str(path), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=tmp_path,
            env=child_env(),
            check=False,
        )

    return run


@pytest.fixture
def start_script(
    write_script: Callable[[str], Path], tmp_path: Path
) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start Python source in a new interpreter with piped output; killed if left running."""
    started: list[subprocess.Popen[str]] = []

    def start(source: str, *args: str) -> subprocess.Popen[str]:
        path = write_script(source)
        proc = subprocess.Popen(
            [sys.executable, str(path), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env=child_env(),
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=HANG_GUARD)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


# ---- a local HTTP server for the http kind ---------------------------------------------

# Bounds of the server's loops: every loop stops after this long or this many bytes.
_HTTP_MAX_SECONDS = 20.0
_HTTP_MAX_BYTES = 1 << 30
_HTTP_CHUNK = 64 * 1024
_PATTERN = bytes(range(251))  # a prime length: the pattern never lines up with 2**k
_PATTERN_RUN = _PATTERN * (_HTTP_CHUNK // len(_PATTERN) + 2)


def http_pattern(n: int, offset: int = 0) -> bytes:
    """The deterministic body of /bytes/<n> and /gzip/<n> (bytes offset to offset+n)."""
    out = bytearray()
    while len(out) < n:
        start = (offset + len(out)) % len(_PATTERN)
        out += _PATTERN_RUN[start : start + min(_HTTP_CHUNK, n - len(out))]
    return bytes(out)


class _TestHandler(http.server.BaseHTTPRequestHandler):
    """Routes for the http kind's tests; see LocalHTTPServer."""

    protocol_version = "HTTP/1.1"
    timeout = 10.0  # bounds every socket operation; idle keep-alive connections end after it
    disable_nagle_algorithm = True  # else a body waits ~40 ms behind its headers
    server: LocalHTTPServer

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet

    def handle(self) -> None:
        # BaseHTTPRequestHandler.handle, with its keep-alive loop bounded in count and time.
        deadline = time.monotonic() + 6 * _HTTP_MAX_SECONDS
        self.close_connection = True
        self.handle_one_request()
        for _ in range(100_000):
            if self.close_connection or self.server.stopping.is_set():
                break
            if time.monotonic() > deadline:
                break
            self.handle_one_request()

    def do_GET(self) -> None:
        body = self._read_body()
        parts = urllib.parse.urlsplit(self.path).path.strip("/").split("/")
        hit = self.server.record(self.path)
        route = getattr(self, "route_" + parts[0].replace("-", "_"), None)
        if route is None:
            self.reply(404, b"no such route: " + self.path.encode())
            return
        try:
            route(parts[1:], hit, body)
        except (ValueError, IndexError) as err:
            self.reply(400, f"bad request {self.path}: {err}".encode())

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET  # noqa: N815

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            total = 0
            deadline = time.monotonic() + _HTTP_MAX_SECONDS
            for _ in range(1_000_000):
                if time.monotonic() > deadline:
                    raise ConnectionError("request body too slow")
                size = int(self.rfile.readline(100).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    for _ in range(100):  # trailers, up to the empty line
                        if self.rfile.readline(1000).strip() == b"":
                            break
                    break
                total += size
                if total > _HTTP_MAX_BYTES:
                    raise ConnectionError("request body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(10)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > _HTTP_MAX_BYTES:
            raise ConnectionError("request body too large")
        return self.rfile.read(length) if length > 0 else b""

    def reply(
        self,
        code: int,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        content_type: str = "text/plain; charset=utf-8",
    ) -> None:
        self.send_response(code)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        no_body = code in (204, 304)
        if not no_body:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and not no_body:
            self.wfile.write(body)

    def _client_gone(self, wait: float) -> bool:
        """Wait up to `wait` seconds; True if the client closed the connection."""
        sock = self.connection
        readable, _, _ = select.select([sock], [], [], wait)
        if not readable:
            return False
        try:
            return sock.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    # /ok: 200 "ok"
    def route_ok(self, args: list[str], hit: int, body: bytes) -> None:
        self.reply(200, b"ok")

    # /slow/<ms>: answer after ms milliseconds (at most _HTTP_MAX_SECONDS), unless the client
    # goes away first.
    def route_slow(self, args: list[str], hit: int, body: bytes) -> None:
        ms = int(args[0])
        deadline = time.monotonic() + min(ms / 1000, _HTTP_MAX_SECONDS)
        while (left := deadline - time.monotonic()) > 0:
            if self.server.stopping.is_set() or self._client_gone(min(left, 0.05)):
                self.close_connection = True
                return
            time.sleep(min(max(left, 0), 0.01))  # in case the socket stays readable
        self.reply(200, f"slow {ms}".encode())

    # /status/<code>: that status, with a body starting "BODY-START status <code>" and
    # ending "BODY-END" 100 kB later.
    def route_status(self, args: list[str], hit: int, body: bytes) -> None:
        code = int(args[0])
        if not 200 <= code <= 599:
            raise ValueError("code out of range")
        text = f"BODY-START status {code} ".encode() + b"." * 100_000 + b" BODY-END"
        self.reply(code, text)

    # /flaky/<key>/<n>: 503 until the n-th request for this path, then 200 "ok after <hit>".
    def route_flaky(self, args: list[str], hit: int, body: bytes) -> None:
        if hit < int(args[1]):
            self.reply(503, b"flaky: try again")
        else:
            self.reply(200, f"ok after {hit}".encode())

    # /retry-after/<key>/<code>: the first request gets <code> with Retry-After: 1, the
    # following ones 200 "after retry".
    def route_retry_after(self, args: list[str], hit: int, body: bytes) -> None:
        if hit == 1:
            self.reply(int(args[1]), b"come back later", headers={"Retry-After": "1"})
        else:
            self.reply(200, b"after retry")

    # /redirect/<n>: n 302 redirects (relative Locations) ending at /ok.
    def route_redirect(self, args: list[str], hit: int, body: bytes) -> None:
        n = int(args[0])
        target = "/ok" if n <= 1 else f"/redirect/{n - 1}"
        self.reply(302, b"redirecting", headers={"Location": target})

    # /loop: redirects to itself, forever.
    def route_loop(self, args: list[str], hit: int, body: bytes) -> None:
        self.reply(302, b"round and round", headers={"Location": "/loop"})

    def _stream(self, n: int) -> None:
        sent = 0
        deadline = time.monotonic() + _HTTP_MAX_SECONDS
        while sent < n and not self.server.stopping.is_set() and time.monotonic() < deadline:
            chunk = http_pattern(min(_HTTP_CHUNK, n - sent), sent)
            self.wfile.write(chunk)
            sent += len(chunk)

    # /bytes/<n>: n bytes of http_pattern, with a Content-Length.
    def route_bytes(self, args: list[str], hit: int, body: bytes) -> None:
        n = int(args[0])
        if not 0 <= n <= _HTTP_MAX_BYTES:
            raise ValueError("size out of range")
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(n))
        self.end_headers()
        if self.command != "HEAD":
            self._stream(n)

    # /endless/<delay_ms>: a chunked body that never ends (a chunk, a pause of delay_ms, ...),
    # until the client disconnects, or _HTTP_MAX_SECONDS or _HTTP_MAX_BYTES pass: then the
    # connection is dropped without ending the body.
    def route_endless(self, args: list[str], hit: int, body: bytes) -> None:
        delay = int(args[0]) / 1000
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.close_connection = True
        deadline = time.monotonic() + _HTTP_MAX_SECONDS
        sent = 0
        while (
            sent < _HTTP_MAX_BYTES
            and time.monotonic() < deadline
            and not self.server.stopping.is_set()
        ):
            chunk = http_pattern(_HTTP_CHUNK, sent)
            self.wfile.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
            sent += len(chunk)
            if delay:
                time.sleep(delay)

    # /truncated: promises 1000 bytes, sends 100, closes the connection.
    def route_truncated(self, args: list[str], hit: int, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(b"t" * 100)
        self.wfile.flush()
        self.close_connection = True

    # /echo: JSON of the request (method, path, headers with lower-case names, body in
    # base64); the response has the header X-Echo: yes.
    def route_echo(self, args: list[str], hit: int, body: bytes) -> None:
        headers = {k.lower(): ", ".join(self.headers.get_all(k) or []) for k in self.headers}
        data = {
            "method": self.command,
            "path": self.path,
            "headers": headers,
            "body_b64": base64.b64encode(body).decode(),
        }
        self.reply(
            200,
            json.dumps(data).encode(),
            headers={"X-Echo": "yes"},
            content_type="application/json",
        )

    # /gzip/<n>: http_pattern(n) gzip-compressed, with Content-Encoding: gzip.
    def route_gzip(self, args: list[str], hit: int, body: bytes) -> None:
        n = int(args[0])
        if not 0 <= n <= 256 * 1024 * 1024:
            raise ValueError("size out of range")
        compressed = gzip.compress(http_pattern(n), compresslevel=6)
        self.reply(
            200,
            compressed,
            headers={"Content-Encoding": "gzip"},
            content_type="application/octet-stream",
        )


class LocalHTTPServer(http.server.ThreadingHTTPServer):
    """A ThreadingHTTPServer on 127.0.0.1 for the tests of the http kind.

    ``hits[path]`` counts the requests for each path (with its query string) and
    ``times[path]`` records when they came (time.monotonic()).
    """

    daemon_threads = True
    # A fan-out opens many connections at once: socketserver's backlog of 5
    # drops the rest into the kernel's slow SYN retries.
    request_queue_size = 1024

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _TestHandler)
        self.tls = tls
        self.lock = threading.Lock()
        self.hits: collections.Counter[str] = collections.Counter()
        self.times: dict[str, list[float]] = collections.defaultdict(list)
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._handlers: list[threading.Thread] = []
        self._serving = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)

    @property
    def base(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def record(self, path: str) -> int:
        with self.lock:
            self.hits[path] += 1
            self.times[path].append(time.monotonic())
            return self.hits[path]

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def finish_request(self, request: Any, client_address: Any) -> None:
        if isinstance(request, ssl.SSLSocket):
            request.settimeout(_TestHandler.timeout)
            request.do_handshake()
        super().finish_request(request, client_address)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread, args=(request, client_address), daemon=True
        )
        with self.lock:
            self._connections.add(request)
            self._handlers = [t for t in self._handlers if t.is_alive()]
            self._handlers.append(thread)
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        with self.lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, ssl.SSLError)):
            return  # a client that went away, or refused our certificate
        super().handle_error(request, client_address)

    def start(self) -> None:
        self._serving.start()

    def stop(self) -> None:
        """Stop serving, end every connection, join every thread, close the socket."""
        self.stopping.set()
        self.shutdown()
        self._serving.join(HANG_GUARD)
        with self.lock:
            live, threads = list(self._connections), list(self._handlers)
        for sock in live:
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
        for thread in threads:
            thread.join(HANG_GUARD)
        self.server_close()


@pytest.fixture(scope="session")
def http_server() -> Iterator[LocalHTTPServer]:
    """A local HTTP server on 127.0.0.1 for the whole session (see _TestHandler's routes)."""
    server = LocalHTTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def https_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHTTPServer]:
    """The same server over TLS, with a self-signed certificate for 127.0.0.1."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"),
            *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=HANG_GUARD,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = LocalHTTPServer(tls=context)
    server.start()
    yield server
    server.stop()


class Tracked:
    """A generator of items that records how far the map ran ahead of its consumer.

    ``ahead`` is the largest (items pulled - items yielded) seen at a pull.
    """

    def __init__(self, items: Iterator[dict[str, Any]]) -> None:
        self._items = items
        self.pulled = 0
        self.yielded = 0
        self.ahead = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for item in self._items:
            self.pulled += 1
            self.ahead = max(self.ahead, self.pulled - self.yielded)
            yield item
