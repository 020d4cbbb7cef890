"""A local static file server for the HTTP case: Debian's nginx, or a labelled fallback.

:func:`serve` starts nginx (installed with apt-get if missing and allowed) with a
generated configuration on 127.0.0.1 and a free port, its prefix, pid file,
logs and temp paths in a temporary directory, and stops it when the block
ends, also on an error or Ctrl-C. If nginx cannot be had it serves the files
from a Python ``ThreadingHTTPServer`` in a child process instead, and says so
in the server's ``label``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .harness import log

HOST = "127.0.0.1"
APT_PACKAGES = ("nginx-light", "nginx")  # nginx-light is gone from Debian 13: then "nginx"


@dataclass
class Server:
    """A running server: the base URL of its document root, and what it is."""

    base_url: str
    label: str  # e.g. "nginx 1.22.1, 1 worker" or "FALLBACK Python ThreadingHTTPServer"
    is_nginx: bool
    version: str
    note: str = ""  # why nginx is not used, for the fallback


def find_nginx() -> str | None:
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def install_nginx() -> str | None:
    """Install nginx with apt-get; return None on success, else why not."""
    if not shutil.which("apt-get"):
        return "apt-get is not available"
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        return "installing it needs root (sudo apt-get install nginx-light)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    service_pid = Path("/run/nginx.pid")
    had_service = service_pid.exists()
    reason = "apt-get install failed"
    for update_first in (False, True):
        if update_first:
            log("  apt-get update ...")
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                subprocess.run(
                    ["apt-get", "update"], env=env, capture_output=True, timeout=300, check=False
                )
        for package in APT_PACKAGES:
            log(f"  apt-get install -y {package} ...")
            try:
                proc = subprocess.run(
                    ["apt-get", "install", "-y", "--no-install-recommends", package],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=600,
                    check=False,
                )
            except (subprocess.SubprocessError, OSError) as err:
                reason = f"apt-get install {package}: {err}"
                continue
            if proc.returncode == 0 and find_nginx():
                # Where the package's service started (no policy-rc.d), stop it: this
                # run uses its own instance, and leaves nothing listening behind it.
                if not had_service and service_pid.exists():
                    nginx = find_nginx()
                    if nginx:
                        subprocess.run([nginx, "-s", "quit"], capture_output=True, check=False)
                return None
            reason = f"apt-get install {package}: {(proc.stderr or '').strip()[-200:]}"
    return reason


def nginx_version(nginx: str) -> str:
    proc = subprocess.run([nginx, "-v"], capture_output=True, text=True, check=False)
    text = (proc.stderr or proc.stdout).strip()  # "nginx version: nginx/1.22.1"
    return text.rsplit("/", 1)[-1] if "/" in text else text


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def _wait_listening(proc: subprocess.Popen[bytes], port: int, what: str, log_file: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            text = log_file.read_text(errors="replace") if log_file.exists() else ""
            raise RuntimeError(f"{what} exited with code {proc.returncode}: {text.strip()[-500:]}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} is not listening on {HOST}:{port} after 15 s")


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _stop(proc: subprocess.Popen[bytes], graceful: int = signal.SIGTERM) -> None:
    """Stop a server we started: its own signal first, SIGKILL (it and its children) last."""
    if proc.poll() is not None:
        return
    workers = _children(proc.pid)
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(graceful)
    try:
        proc.wait(timeout=10)
        return
    except subprocess.TimeoutExpired:
        pass
    for pid in [proc.pid, *workers]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=10)


NGINX_CONF = """\
worker_processes {workers};
daemon off;
master_process on;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 60s;
    keepalive_requests 1000000;
    default_type application/octet-stream;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen {host}:{port} backlog=4096;
        root {root};
        location / {{ }}
    }}
}}
"""


def _start_nginx(nginx: str, root: Path, workers: int) -> tuple[Server, Callable[[], None]]:
    """Start nginx; return the server and the function that stops it (and cleans up)."""
    prefix = Path(tempfile.mkdtemp(prefix="gogoroutines-bench-nginx-"))
    try:
        # nginx's workers run as nobody (when started by root): they must be able to
        # reach the files, so serve a copy under the prefix, readable by all.
        www = prefix / "www"
        shutil.copytree(root, www)
        for path in (prefix, www, *www.iterdir()):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        root = www
        version = nginx_version(nginx)
        for attempt in range(3):  # a free port can be taken between the check and the bind
            port = free_port()
            conf = prefix / "nginx.conf"
            conf.write_text(
                NGINX_CONF.format(workers=workers, prefix=prefix, host=HOST, port=port, root=root)
            )
            error_log = prefix / "error.log"
            proc = subprocess.Popen(
                [nginx, "-p", str(prefix), "-c", str(conf), "-e", str(error_log)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                _wait_listening(proc, port, "nginx", error_log)
            except RuntimeError:
                _stop(proc)
                if attempt == 2:
                    raise
                continue
            except BaseException:  # Ctrl-C while starting
                _stop(proc)
                raise

            def stop(proc: subprocess.Popen[bytes] = proc) -> None:
                try:
                    _stop(proc)
                finally:
                    shutil.rmtree(prefix, ignore_errors=True)

            plural = "s" if workers > 1 else ""
            label = f"nginx {version}, {workers} worker{plural}"
            return Server(f"http://{HOST}:{port}", label, True, version), stop
        raise AssertionError("unreachable")
    except BaseException:
        shutil.rmtree(prefix, ignore_errors=True)
        raise


FALLBACK_SERVER = """\
import functools, http.server, sys
root = sys.argv[1]

class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as nginx
    disable_nagle_algorithm = True  # headers and body go out in two writes
    def log_message(self, *args):
        pass

class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 1024
    daemon_threads = True

srv = Server(("127.0.0.1", 0), functools.partial(Handler, directory=root))
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""


def _start_python_server(root: Path, why: str) -> tuple[Server, Callable[[], None]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", FALLBACK_SERVER, str(root)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
        if not line.isdigit():
            raise RuntimeError("the fallback HTTP server did not start")
    except BaseException:
        _stop(proc)
        raise
    server = Server(
        f"http://{HOST}:{line}",
        "FALLBACK Python ThreadingHTTPServer",
        False,
        "",
        note=f"nginx unavailable ({why}): the files were served by a Python "
        "ThreadingHTTPServer in a child process, far slower than nginx, so the HTTP "
        "figures measure that server more than the clients",
    )
    return server, lambda: _stop(proc)


@contextlib.contextmanager
def serve(
    root: Path, *, allow_install: bool, use_nginx: bool = True, workers: int = 1
) -> Iterator[Server]:
    """Serve the files under ``root`` on 127.0.0.1 for the duration of the block.

    ``use_nginx=False`` goes straight to the Python fallback (to try that path).
    """
    nginx = find_nginx() if use_nginx else None
    why = "not installed"
    if not use_nginx:
        why = "not used: --http-server python"
    elif nginx is None and allow_install:
        log("nginx is not installed: installing Debian's package ...")
        failure = install_nginx()
        nginx = find_nginx()
        if nginx is None:
            why = failure or "not found after installing"
    elif nginx is None:
        why = "not installed, and --quick does not install it"
    started = None
    if nginx is not None:
        try:
            started = _start_nginx(nginx, root, workers)
        except RuntimeError as err:
            why = f"it did not start: {err}"
    if started is None:
        started = _start_python_server(root, why)
    server, stop = started
    try:
        yield server
    finally:
        stop()
