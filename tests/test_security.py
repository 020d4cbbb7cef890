"""Security properties: no shell, bounded bodies, bounded redirects, TLS on, ids per runtime.

Servers listen on 127.0.0.1 only, and every loop of theirs is bounded in time
and bytes. test_kind_exec and test_kind_http check the kinds' behaviour; this
file checks what an attacker would try against them.
"""

from __future__ import annotations

import collections
import contextlib
import gzip
import http.server
import ipaddress
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import gogoroutines
from gogoroutines import Runtime, Status, TaskFailed, TaskNotFound, TaskTimedOut

HANG_GUARD = 30.0
MiB = 1024 * 1024


def assert_fails(task, *words: str) -> TaskFailed:
    """The task fails (not by its deadline) with a message containing every word."""
    with pytest.raises(TaskFailed) as info:
        task.result_bytes(HANG_GUARD)
    assert not isinstance(info.value, TaskTimedOut), str(info.value)
    for word in words:
        assert word in str(info.value), f"{word!r} not in {str(info.value)!r}"
    return info.value


# ==== exec never goes through a shell ===========================================================


@pytest.fixture
def sentinel(tmp_path: Path) -> Path:
    """A file that only a shell interpreting an injection would create."""
    return tmp_path / "PWNED"


def injections(target: Path) -> list[str]:
    t = str(target)
    return [
        f"; touch {t}",
        f"$(touch {t})",
        f"`touch {t}`",
        f"| touch {t}",
        f"&& touch {t}",
        f"|| touch {t}",
        f"& touch {t}",
        f"> {t}",
        f"\ntouch {t}\n",
        f"${{IFS}}touch${{IFS}}{t}",
        f"'; touch {t}; '",
        f'"; touch {t}; "',
    ]


def test_shell_syntax_in_arguments_runs_nothing(rt, sentinel, tmp_path):
    payloads = injections(sentinel)
    task = rt.go("exec", argv=["printf", "[%s]", *payloads], cwd=str(tmp_path))
    assert task.result(HANG_GUARD) == "".join(f"[{p}]" for p in payloads)
    assert not sentinel.exists()


@pytest.mark.parametrize(
    "template", ["true; touch {t}", "touch {t}", "$(touch {t})", "true|touch {t}"]
)
def test_shell_syntax_in_the_program_name_runs_nothing(rt, sentinel, template):
    task = rt.go("exec", argv=[template.format(t=sentinel)])
    assert_fails(task)  # no program has that name
    assert not sentinel.exists()


def test_shell_syntax_in_environment_values_is_not_expanded(rt, sentinel):
    value = f"$(touch {sentinel}) `touch {sentinel}`"
    task = rt.go("exec", argv=["printenv", "INJECTED"], env={"INJECTED": value})
    assert task.result(HANG_GUARD) == value + "\n"
    assert not sentinel.exists()


def test_shell_startup_files_are_not_read(rt, sentinel, tmp_path):
    # A shell started to run the program would source $BASH_ENV (bash) or $ENV (sh).
    script = tmp_path / "startup.sh"
    script.write_text(f"touch {sentinel}\n")
    env = {"BASH_ENV": str(script), "ENV": str(script)}
    assert rt.go("exec", argv=["echo", "hi"], env=env).result(HANG_GUARD) == "hi\n"
    assert not sentinel.exists()


def test_shell_syntax_in_the_working_directory_runs_nothing(rt, sentinel, tmp_path):
    odd = tmp_path / f"$(touch {sentinel.name}); `touch {sentinel.name}`"
    odd.mkdir()
    task = rt.go("exec", argv=["pwd"], cwd=str(odd))
    assert task.result(HANG_GUARD) == f"{odd}\n"
    assert not sentinel.exists()
    assert not (odd / sentinel.name).exists()


# ==== local servers ===========================================================================

# Bounds of the servers below: no response takes longer, or sends more, than this.
SERVER_SECONDS = 20.0
SERVER_MAX_BYTES = 512 * MiB
CHUNK = 64 * 1024


def gzip_of_zeros(n: int) -> bytes:
    """n zero bytes, gzip-compressed: a bomb (256 MiB compress to about 250 kB)."""
    return gzip.compress(bytes(n), compresslevel=6)


class Handler(http.server.BaseHTTPRequestHandler):
    """Routes for the tests of this file; see each route_* method."""

    protocol_version = "HTTP/1.1"
    timeout = 10.0
    server: Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        with self.server.lock:
            self.server.hits[url.path] += 1
            self.server.requests.append({"path": self.path, "headers": dict(self.headers)})
        route = getattr(self, "route_" + parts[0].replace("-", "_"), None)
        if route is None:
            self.send_error(404)
            return
        route(parts[1:], urllib.parse.parse_qs(url.query))

    def send_body(self, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(200)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_chunked(self, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(200)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        deadline = time.monotonic() + SERVER_SECONDS
        for start in range(0, min(len(body), SERVER_MAX_BYTES), CHUNK):
            if time.monotonic() > deadline:
                break
            chunk = body[start : start + CHUNK]
            try:
                self.wfile.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
            except OSError:
                return  # the client gave up: that is the point of max_bytes
        with contextlib.suppress(OSError):
            self.wfile.write(b"0\r\n\r\n")

    # /ok: 200 "ok"
    def route_ok(self, args: list[str], query: dict) -> None:
        self.send_body(b"ok")

    # /gzip/<n>[?chunked=1]: n zero bytes, gzip-compressed, Content-Encoding: gzip.
    def route_gzip(self, args: list[str], query: dict) -> None:
        body = self.server.gzip_body(int(args[0]))
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/octet-stream"}
        if query.get("chunked"):
            self.send_chunked(body, headers)
        else:
            self.send_body(body, headers)

    # /chunked/<n>: n bytes ("abc..." repeated), chunked, no Content-Length.
    def route_chunked(self, args: list[str], query: dict) -> None:
        n = int(args[0])
        self.send_chunked((b"abcdefghij" * (n // 10 + 1))[:n])

    # /redirect-to?url=<url>: a 302 to url.
    def route_redirect_to(self, args: list[str], query: dict) -> None:
        self.send_response(302)
        self.send_header("Location", query["url"][0])
        self.send_header("Content-Length", "0")
        self.end_headers()

    # /loop/<key>: a 302 to itself, for ever.
    def route_loop(self, args: list[str], query: dict) -> None:
        self.send_response(302)
        self.send_header("Location", self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    # /headers: the request headers as JSON, names lower-cased.
    def route_headers(self, args: list[str], query: dict) -> None:
        body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
        self.send_body(body, {"Content-Type": "application/json"})


class Server(http.server.ThreadingHTTPServer):
    """A 127.0.0.1 server for Handler's routes, optionally over TLS."""

    daemon_threads = True

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.tls = tls
        self.lock = threading.Lock()
        self.hits: collections.Counter[str] = collections.Counter()
        self.requests: list[dict] = []
        self._gzip: dict[int, bytes] = {}
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)

    def gzip_body(self, n: int) -> bytes:
        with self.lock:
            if n not in self._gzip:
                self._gzip[n] = gzip_of_zeros(min(n, SERVER_MAX_BYTES))
            return self._gzip[n]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host}:{self.server_address[1]}{path}"

    def get_request(self):
        sock, address = super().get_request()
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def finish_request(self, request, client_address) -> None:
        if isinstance(request, ssl.SSLSocket):
            request.settimeout(Handler.timeout)
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError):
                return  # a client that refused our certificate: what the TLS tests expect
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, ssl.SSLError)):
            return
        super().handle_error(request, client_address)

    def __enter__(self) -> Server:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self._thread.join(HANG_GUARD)
        self.server_close()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with Server() as s:
        yield s


def run_in_child(source: str, *args: str, env: dict[str, str] | None = None) -> dict:
    """Run Python source in a new interpreter; return the JSON of its last line."""
    full_env = dict(os.environ)
    for name in ("PYTHONWARNINGS", "PYTHONSTARTUP", "PYTHONINSPECT"):
        full_env.pop(name, None)
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-c", source, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=full_env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ==== http: max_bytes holds for compressed and chunked bodies =================================

# The bomb: 256 MiB of zeros that travel as about 250 kB of gzip.
BOMB = 256 * MiB

BOMB_CLIENT = """
import json, sys
import gogoroutines as g
url, max_bytes = sys.argv[1], int(sys.argv[2])
args = {} if max_bytes < 0 else {"max_bytes": max_bytes}
with g.Runtime() as rt:
    try:
        rt.go("http", url=url, **args).result_bytes(60)
        outcome = "completed"
    except g.TaskFailed as err:
        outcome = str(err)
# VmHWM: the peak RSS of this program (ru_maxrss would count the parent's, from the fork).
with open("/proc/self/status") as f:
    peak = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
print(json.dumps({"outcome": outcome, "peak_rss": peak}))
"""


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize(
    ("max_bytes", "rss_bound"),
    [(MiB, 150 * MiB), (-1, 230 * MiB)],
    ids=["max_bytes=1MiB", "default-64MiB"],
)
def test_a_gzip_bomb_is_stopped_at_max_bytes(server, chunked, max_bytes, rss_bound):
    url = server.url(f"/gzip/{BOMB}" + ("?chunked=1" if chunked else ""))
    out = run_in_child(BOMB_CLIENT, url, str(max_bytes))
    print(
        f"\nRELIABILITY gzip bomb: {BOMB // MiB} MiB, max_bytes {max_bytes}, chunked {chunked}: "
        f"peak client RSS {out['peak_rss'] / MiB:.0f} MiB"
    )
    assert "max_bytes" in out["outcome"], out
    # The 256 MiB never existed in the client: it stopped inflating at the limit.
    assert out["peak_rss"] < rss_bound, f"peak RSS {out['peak_rss'] / MiB:.0f} MiB"
    assert out["peak_rss"] < BOMB


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_max_bytes_counts_decompressed_bytes_exactly(rt, server, chunked):
    n = 100_000
    url = server.url(f"/gzip/{n}" + ("?chunked=1" if chunked else ""))
    assert rt.go("http", url=url, max_bytes=n).result_bytes(HANG_GUARD) == bytes(n)
    assert_fails(rt.go("http", url=url, max_bytes=n - 1), "max_bytes")


def test_max_bytes_holds_for_a_plain_chunked_body(rt, server):
    url = server.url(f"/chunked/{2 * MiB}")
    assert len(rt.go("http", url=url, max_bytes=2 * MiB).result_bytes(HANG_GUARD)) == 2 * MiB
    assert_fails(rt.go("http", url=url, max_bytes=MiB), "max_bytes")


def test_asking_for_gzip_yourself_limits_the_compressed_bytes(rt, server):
    # With an explicit Accept-Encoding, the body is handed over as it came: compressed.
    url = server.url(f"/gzip/{BOMB}?chunked=1")
    compressed = server.gzip_body(BOMB)
    headers = {"Accept-Encoding": "gzip"}
    body = rt.go("http", url=url, headers=headers, max_bytes=len(compressed))
    assert body.result_bytes(HANG_GUARD) == compressed
    assert_fails(rt.go("http", url=url, headers=headers, max_bytes=len(compressed) - 1))


# ==== http: redirects ===========================================================================


def test_a_redirect_loop_stops_after_ten_redirects(rt, server):
    path = f"/loop/{uuid.uuid4().hex}"
    assert_fails(rt.go("http", url=server.url(path)), "redirect")
    assert server.hits[path] == 11  # the request, then 10 redirects followed


def test_a_redirect_loop_is_bounded_with_retries_too(rt, server):
    path = f"/loop/{uuid.uuid4().hex}"
    assert_fails(rt.go("http", url=server.url(path), retries=5, backoff=0.01), "redirect")
    assert server.hits[path] == 11  # too many redirects is not retried


@pytest.mark.parametrize("header", ["Authorization", "Cookie"])
def test_credentials_do_not_follow_a_redirect_to_another_host(rt, server, header):
    # 127.0.0.1 redirects to localhost: the same machine, another host name.
    target = server.url("/headers", host="localhost")
    start = server.url("/redirect-to?" + urllib.parse.urlencode({"url": target}))
    task = rt.go("http", url=start, headers={header: "secret", "X-Other": "kept"})
    seen = json.loads(task.result(HANG_GUARD))
    assert task.meta["url"] == target
    assert header.lower() not in seen
    assert seen["x-other"] == "kept"


@pytest.mark.parametrize("header", ["Authorization", "Cookie"])
def test_credentials_follow_a_redirect_on_the_same_host(rt, server, header):
    target = server.url("/headers")
    start = server.url("/redirect-to?" + urllib.parse.urlencode({"url": target}))
    seen = json.loads(rt.go("http", url=start, headers={header: "secret"}).result(HANG_GUARD))
    assert seen[header.lower()] == "secret"


# ==== http: TLS verification is on unless turned off ==============================================


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (usable as its own CA) and its key."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        import datetime

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        openssl = shutil.which("openssl")
        if openssl is None:
            pytest.skip("needs the cryptography package or the openssl command for a certificate")
        subprocess.run(
            [
                *(openssl, "req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"),
                *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
                *("-addext", "subjectAltName=IP:127.0.0.1"),
                *("-addext", "basicConstraints=critical,CA:TRUE"),
                *("-keyout", str(key), "-out", str(cert)),
            ],
            check=True,
            capture_output=True,
            timeout=HANG_GUARD,
        )
        return cert, key
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert, key


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> Iterator[tuple[Server, Path]]:
    """An HTTPS server with a self-signed certificate for 127.0.0.1, and the certificate."""
    cert, key = make_certificate(tmp_path_factory.mktemp("tls"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with Server(tls=context) as s:
        yield s, cert


@pytest.mark.parametrize("verify", [{}, {"verify": True}, {"verify": None}], ids=str)
def test_an_untrusted_certificate_is_refused_unless_verify_is_false(rt, tls, verify):
    server, _ = tls
    path = f"/ok?{uuid.uuid4().hex}"
    err = assert_fails(rt.go("http", url=server.url(path), **verify))
    assert "certificate" in str(err)
    assert not any(r["path"] == path for r in server.requests)  # no request got through


def test_verify_false_is_the_only_way_in(rt, tls):
    server, _ = tls
    assert rt.go("http", url=server.url("/ok"), verify=False).result(HANG_GUARD) == "ok"


def test_an_unverified_connection_is_never_reused_by_a_verified_task(rt, tls):
    server, _ = tls
    for _ in range(3):
        assert rt.go("http", url=server.url("/ok"), verify=False).result(HANG_GUARD) == "ok"
        assert_fails(rt.go("http", url=server.url("/ok")), "certificate")


HOSTNAME_CLIENT = """
import json, sys
import gogoroutines as g
out = {}
with g.Runtime() as rt:
    for url in sys.argv[1:]:
        try:
            out[url] = rt.go("http", url=url).result(60)
        except g.TaskFailed as err:
            out[url] = "failed: " + str(err)
print(json.dumps(out))
"""


def test_the_host_name_is_verified_against_a_trusted_certificate(tls):
    # A child that trusts our certificate (Go reads SSL_CERT_FILE when it starts): the right
    # address is accepted, another name for the same server is not.
    server, cert = tls
    good, wrong = server.url("/ok"), server.url("/ok", host="localhost")
    out = run_in_child(HOSTNAME_CLIENT, good, wrong, env={"SSL_CERT_FILE": str(cert)})
    assert out[good] == "ok"
    assert out[wrong].startswith("failed: ")
    assert "certificate" in out[wrong]
    assert "localhost" in out[wrong]


# ==== ids are per runtime =========================================================================


def test_a_runtime_cannot_reach_the_tasks_of_another(php_api):
    a, b = Runtime(), Runtime()
    try:
        secrets = [a.go("echo", data=f"secret {i}") for i in range(5)]
        sleeper = a.go("sleep", seconds=60)  # id 6 in a
        mine = b.go("echo", data="b's own")  # id 1 in b: ids are per runtime
        assert [t.id for t in secrets] == [1, 2, 3, 4, 5]
        assert (sleeper.id, mine.id) == (6, 1)
        core = b._core
        assert core.result(1) == "b's own"
        for task_id in (2, 5, 6):
            for call in (core.result, core.result_bytes, core.wait, core.cancel):
                with pytest.raises(TaskNotFound, match=f"task {task_id}"):
                    call(task_id)
            assert core.status(task_id) == Status.NOT_FOUND
            core.release(task_id)  # releasing what b does not have touches nothing
        # Waiting watches Task objects, each bound to its runtime: b's task 1 and a's task 1
        # are told apart, and a's running task 6 is not reported finished through b.
        assert gogoroutines.wait([mine, secrets[0], sleeper], timeout=0.5) == (
            {mine, secrets[0]},
            {sleeper},
        )
        assert set(gogoroutines.as_completed([mine, secrets[0]], timeout=5)) == {mine, secrets[0]}
        # The PHP extension's API works on the default runtime: a's ids mean nothing there either.
        assert gogoroutines.go_check_status(6) == -1
        assert gogoroutines.go_get_result(5) == "Error: Goroutine not found"
        gogoroutines.go_cleanup(6)
        # a's tasks are untouched by all of the above.
        assert [t.result() for t in secrets] == [f"secret {i}" for i in range(5)]
        assert sleeper.status is Status.RUNNING
        assert a.stats().total == 6
        a.close()
        assert b.stats().total == 1  # closing a leaves b alone
        assert core.result(1) == "b's own"
    finally:
        a.close()
        b.close()


def test_a_closed_runtimes_ids_are_not_inherited(php_api):
    a = Runtime()
    a.go("echo", data="secret")
    a.close()
    b = Runtime()  # a new runtime starts its ids at 1 again, with nothing of a's in them
    try:
        with pytest.raises(TaskNotFound):
            b._core.result(1)
        assert b.go("echo", data="b").id == 1
    finally:
        b.close()


def _loopback_only() -> None:
    """Every server of this file binds 127.0.0.1 (checked here once, cheaply)."""
    with Server() as s:
        assert s.server_address[0] == "127.0.0.1"
    assert socket.gethostbyname("localhost") == "127.0.0.1"


def test_servers_are_loopback_only():
    _loopback_only()
