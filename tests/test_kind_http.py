"""The http kind, against a local server on 127.0.0.1 (the http_server fixture of conftest)."""

from __future__ import annotations

import base64
import gzip
import json
import socket
import time
import uuid

import pytest

from conftest import http_pattern
from gogoroutines import InvalidArgument, Status, TaskCancelled, TaskFailed, TaskTimedOut

HANG_GUARD = 30.0
MiB = 1024 * 1024
DEFAULT_MAX_BYTES = 64 * MiB


def key() -> str:
    """A fresh key, so that each test has paths (and hit counts) of its own."""
    return uuid.uuid4().hex


def lower_keys(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def assert_fails(task, *words: str) -> TaskFailed:
    """The task fails (not by its deadline) with a message containing every word."""
    with pytest.raises(TaskFailed) as info:
        task.result_bytes(HANG_GUARD)
    err = info.value
    assert not isinstance(err, TaskTimedOut), str(err)
    assert task.status is Status.FAILED
    for word in words:
        assert word in str(err), f"{word!r} not in {str(err)!r}"
    return err


def assert_times_out(task) -> TaskTimedOut:
    started = time.monotonic()
    with pytest.raises(TaskTimedOut) as info:
        task.result_bytes(HANG_GUARD)
    assert time.monotonic() - started < 10, "the task deadline did not stop the request"
    assert task.status is Status.FAILED
    return info.value


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound for a moment, then freed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---- simple requests --------------------------------------------------------------------


def test_get_returns_the_body_and_meta(rt, http_server):
    url = http_server.url("/ok")
    task = rt.go("http", url=url)
    assert task.result(HANG_GUARD) == "ok"
    assert task.status is Status.COMPLETED
    meta = task.meta
    assert isinstance(meta, dict)
    assert type(meta["status"]) is int
    assert meta["status"] == 200
    assert meta["url"] == url
    assert type(meta["attempts"]) is int
    assert meta["attempts"] == 1
    assert isinstance(meta["elapsed"], float)
    assert 0 <= meta["elapsed"] < HANG_GUARD
    headers = meta["headers"]
    assert isinstance(headers, dict)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
    assert lower_keys(headers)["content-type"] == "text/plain; charset=utf-8"
    assert lower_keys(headers)["content-length"] == "2"


@pytest.mark.parametrize("size", [0, 1, 250, 251, 65_536, MiB + 3, 10 * MiB])
def test_binary_bodies_arrive_whole(rt, http_server, size):
    task = rt.go("http", url=http_server.url(f"/bytes/{size}"))
    assert task.result_bytes(HANG_GUARD) == http_pattern(size)
    assert task.meta["status"] == 200


def test_response_headers_are_in_meta(rt, http_server):
    task = rt.go("http", url=http_server.url("/echo"))
    task.wait(HANG_GUARD)
    headers = lower_keys(task.meta["headers"])
    assert headers["x-echo"] == "yes"
    assert headers["content-type"] == "application/json"


def test_non_utf8_body_needs_result_bytes(rt, http_server):
    task = rt.go("http", url=http_server.url("/bytes/300"))
    with pytest.raises(ValueError, match=r"result_bytes\(\)"):
        task.result(HANG_GUARD)
    assert task.result_bytes() == http_pattern(300)


def test_many_concurrent_requests(rt, http_server):
    tasks = [rt.go("http", url=http_server.url(f"/slow/200?n={i}")) for i in range(40)]
    assert [t.result(HANG_GUARD) for t in tasks] == ["slow 200"] * 40


# ---- what is sent -------------------------------------------------------------------------


def echo(task) -> dict:
    return json.loads(task.result(HANG_GUARD))


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_method_is_sent(rt, http_server, method):
    seen = echo(rt.go("http", url=http_server.url("/echo"), method=method))
    assert seen["method"] == method


def test_default_method_is_get_without_a_body(rt, http_server):
    seen = echo(rt.go("http", url=http_server.url("/echo?a=1&b=two")))
    assert seen["method"] == "GET"
    assert seen["path"] == "/echo?a=1&b=two"
    assert seen["body_b64"] == ""


def test_head_has_no_body(rt, http_server):
    task = rt.go("http", url=http_server.url("/bytes/1000"), method="HEAD")
    assert task.result_bytes(HANG_GUARD) == b""
    assert task.meta["status"] == 200
    assert lower_keys(task.meta["headers"])["content-length"] == "1000"


def test_headers_are_sent(rt, http_server):
    headers = {"X-Custom": "value with spaces", "X-Other": "2", "Authorization": "Bearer t0k"}
    seen = echo(rt.go("http", url=http_server.url("/echo"), headers=headers))
    for name, value in headers.items():
        assert seen["headers"][name.lower()] == value


def test_host_header_is_sent(rt, http_server):
    # A virtual host: the header names another host than the URL's.
    seen = echo(rt.go("http", url=http_server.url("/echo"), headers={"Host": "virtual.test"}))
    assert seen["headers"]["host"] == "virtual.test"


def test_user_headers_override_defaults(rt, http_server):
    seen = echo(rt.go("http", url=http_server.url("/echo"), headers={"User-Agent": "tests/1"}))
    assert seen["headers"]["user-agent"] == "tests/1"


@pytest.mark.parametrize(
    "body",
    [b"\x00\x01\xff binary", "naïve ☃ text", b"", "x" * (5 * MiB)],
    ids=["bytes", "str", "empty", "5MiB"],
)
def test_body_is_sent(rt, http_server, body):
    seen = echo(rt.go("http", url=http_server.url("/echo"), method="POST", body=body))
    expected = body.encode() if isinstance(body, str) else body
    assert base64.b64decode(seen["body_b64"]) == expected
    if expected:
        assert seen["headers"].get("content-length", str(len(expected))) == str(len(expected))


def test_body_with_put_and_content_type(rt, http_server):
    seen = echo(
        rt.go(
            "http",
            url=http_server.url("/echo"),
            method="PUT",
            headers={"Content-Type": "application/json"},
            body='{"a": 1}',
        )
    )
    assert seen["method"] == "PUT"
    assert seen["headers"]["content-type"] == "application/json"
    assert base64.b64decode(seen["body_b64"]) == b'{"a": 1}'


# ---- status codes ----------------------------------------------------------------------------


@pytest.mark.parametrize("code", [200, 201, 202, 203, 206, 226, 299])
def test_2xx_completes(rt, http_server, code):
    task = rt.go("http", url=http_server.url(f"/status/{code}"))
    body = task.result(HANG_GUARD)
    assert body.startswith(f"BODY-START status {code} ")
    assert body.endswith(" BODY-END")
    assert task.meta["status"] == code


def test_204_completes_with_an_empty_body(rt, http_server):
    task = rt.go("http", url=http_server.url("/status/204"))
    assert task.result(HANG_GUARD) == ""
    assert task.meta["status"] == 204


@pytest.mark.parametrize(
    "code", [400, 401, 403, 404, 405, 409, 410, 418, 422, 451, 499, 500, 501, 502, 503, 504, 599]
)
def test_non_2xx_fails_with_status_and_start_of_body(rt, http_server, code):
    path = f"/status/{code}?k={key()}"
    err = assert_fails(rt.go("http", url=http_server.url(path)), str(code), "BODY-START")
    message = str(err)
    assert "BODY-END" not in message  # the start of the body, not all 100 kB of it
    assert len(message) < 20_000
    assert http_server.hits[path] == 1  # retries=0: one attempt


@pytest.mark.parametrize("code", [404, 500, 503])
def test_raise_for_status_false_completes_with_the_body(rt, http_server, code):
    task = rt.go("http", url=http_server.url(f"/status/{code}"), raise_for_status=False)
    body = task.result(HANG_GUARD)
    assert body.startswith(f"BODY-START status {code} ")
    assert body.endswith(" BODY-END")
    assert task.status is Status.COMPLETED
    assert task.meta["status"] == code


# ---- retries ---------------------------------------------------------------------------------


def test_flaky_503s_are_retried_until_success(rt, http_server):
    path = f"/flaky/{key()}/3"
    task = rt.go("http", url=http_server.url(path), retries=5, backoff=0.01)
    assert task.result(HANG_GUARD) == "ok after 3"
    assert task.meta["attempts"] == 3
    assert task.meta["status"] == 200
    assert http_server.hits[path] == 3


def test_retries_exactly_used_up(rt, http_server):
    path = f"/flaky/{key()}/4"
    task = rt.go("http", url=http_server.url(path), retries=3, backoff=0.01)
    assert task.result(HANG_GUARD) == "ok after 4"
    assert task.meta["attempts"] == 4


def test_too_few_retries_fail_with_the_last_status(rt, http_server):
    path = f"/flaky/{key()}/5"
    task = rt.go("http", url=http_server.url(path), retries=2, backoff=0.01)
    assert_fails(task, "503")
    assert http_server.hits[path] == 3  # the first attempt and 2 retries


def test_no_retries_by_default(rt, http_server):
    path = f"/flaky/{key()}/2"
    assert_fails(rt.go("http", url=http_server.url(path), backoff=0.01), "503")
    assert http_server.hits[path] == 1


@pytest.mark.parametrize("code", [500, 502, 503, 504])
def test_5xx_are_retried(rt, http_server, code):
    path = f"/status/{code}?k={key()}"
    assert_fails(rt.go("http", url=http_server.url(path), retries=2, backoff=0.01), str(code))
    assert http_server.hits[path] == 3


@pytest.mark.parametrize("code", [400, 401, 403, 404, 409, 422])
def test_other_4xx_are_not_retried(rt, http_server, code):
    path = f"/status/{code}?k={key()}"
    assert_fails(rt.go("http", url=http_server.url(path), retries=3, backoff=0.01), str(code))
    assert http_server.hits[path] == 1


@pytest.mark.parametrize("code", [429, 503])
def test_retry_after_is_honoured(rt, http_server, code):
    path = f"/retry-after/{key()}/{code}"
    # The backoff alone would retry after about 10 ms; Retry-After: 1 asks for a second.
    task = rt.go("http", url=http_server.url(path), retries=1, backoff=0.01)
    assert task.result(HANG_GUARD) == "after retry"
    assert task.meta["attempts"] == 2
    first, second = http_server.times[path]
    assert second - first >= 0.9  # a lower bound only: the wait asked for by the server


@pytest.mark.parametrize("code", [429, 503])
def test_retry_after_without_retries_fails(rt, http_server, code):
    path = f"/retry-after/{key()}/{code}"
    err = assert_fails(rt.go("http", url=http_server.url(path)), str(code))
    assert "come back later" in str(err)
    assert http_server.hits[path] == 1


def test_connection_refused_fails_after_the_retries(rt):
    url = f"http://127.0.0.1:{closed_port()}/ok"
    err = assert_fails(rt.go("http", url=url, retries=2, backoff=0.01))
    assert "refused" in str(err)


def test_connection_refused_fails_at_once_without_retries(rt):
    assert_fails(rt.go("http", url=f"http://127.0.0.1:{closed_port()}/"), "refused")


def read_request(conn: socket.socket) -> bytes:
    """Read one request head (bounded) from a raw connection."""
    request = b""
    for _ in range(1000):
        if b"\r\n\r\n" in request:
            break
        chunk = conn.recv(65536)
        if not chunk:
            break
        request += chunk
    return request


def test_connection_errors_are_retried(rt):
    # A raw server: the first connection is closed without an answer (a connection error),
    # the second is answered.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(10)
        port = listener.getsockname()[1]
        task = rt.go("http", url=f"http://127.0.0.1:{port}/x", retries=2, backoff=0.01)
        first, _ = listener.accept()
        with first:
            first.settimeout(HANG_GUARD)
            assert read_request(first).startswith(b"GET /x HTTP/1.1\r\n")
        try:
            second, _ = listener.accept()
        except TimeoutError:
            pytest.fail("no retry after a connection closed without an answer")
        with second:
            second.settimeout(HANG_GUARD)
            assert read_request(second).startswith(b"GET /x HTTP/1.1\r\n")
            second.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nlater"
            )
        assert task.result(HANG_GUARD) == "later"
    assert task.meta["attempts"] == 2


# ---- redirects -----------------------------------------------------------------------------


@pytest.mark.parametrize("hops", [1, 2, 5, 9])
def test_redirects_are_followed(rt, http_server, hops):
    task = rt.go("http", url=http_server.url(f"/redirect/{hops}"))
    assert task.result(HANG_GUARD) == "ok"
    assert task.meta["status"] == 200
    assert task.meta["url"] == http_server.url("/ok")


def test_ten_redirects_are_followed(rt, http_server):
    task = rt.go("http", url=http_server.url("/redirect/10"))
    assert task.result(HANG_GUARD) == "ok"
    assert task.meta["url"] == http_server.url("/ok")


def test_eleven_redirects_are_too_many(rt, http_server):
    assert_fails(rt.go("http", url=http_server.url("/redirect/11")), "redirect")


@pytest.mark.parametrize("retries", [0, 3])
def test_redirect_loop_fails_and_is_not_retried(rt, http_server, retries):
    before = http_server.hits["/loop"]
    task = rt.go("http", url=http_server.url("/loop"), retries=retries, backoff=0.01)
    assert_fails(task, "redirect")
    assert 1 <= http_server.hits["/loop"] - before <= 12


def test_redirect_not_followed_when_disabled(rt, http_server):
    url = http_server.url("/redirect/1")
    task = rt.go("http", url=url, follow_redirects=False, raise_for_status=False)
    assert task.result(HANG_GUARD) == "redirecting"
    assert task.meta["status"] == 302
    assert task.meta["url"] == url
    assert lower_keys(task.meta["headers"])["location"] == "/ok"


def test_unfollowed_redirect_fails_with_raise_for_status(rt, http_server):
    task = rt.go("http", url=http_server.url("/redirect/1"), follow_redirects=False)
    assert_fails(task, "302")


# ---- sizes -----------------------------------------------------------------------------------


def test_max_bytes(rt, http_server):
    url = http_server.url("/bytes/1000")
    assert rt.go("http", url=url, max_bytes=1000).result_bytes(HANG_GUARD) == http_pattern(1000)
    assert rt.go("http", url=url, max_bytes=1001).result_bytes(HANG_GUARD) == http_pattern(1000)
    assert_fails(rt.go("http", url=url, max_bytes=999), "max_bytes")


def test_default_max_bytes_is_64_mib(rt, http_server):
    exact = rt.go("http", url=http_server.url(f"/bytes/{DEFAULT_MAX_BYTES}"))
    body = exact.result_bytes(HANG_GUARD)
    assert len(body) == DEFAULT_MAX_BYTES
    assert body == http_pattern(DEFAULT_MAX_BYTES)
    del body
    over = rt.go("http", url=http_server.url(f"/bytes/{DEFAULT_MAX_BYTES + 1}"))
    assert_fails(over, "max_bytes")


def test_too_large_body_is_not_retried(rt, http_server):
    path = f"/bytes/1000?k={key()}"
    task = rt.go("http", url=http_server.url(path), max_bytes=10, retries=3, backoff=0.01)
    assert_fails(task, "max_bytes")
    assert http_server.hits[path] == 1


def test_max_bytes_stops_an_endless_body(rt, http_server):
    task = rt.go("http", url=http_server.url("/endless/0"), max_bytes=MiB)
    assert_fails(task, "max_bytes")


def test_default_max_bytes_stops_an_endless_body(rt, http_server):
    assert_fails(rt.go("http", url=http_server.url("/endless/0")), "max_bytes")


def test_gzip_body_is_decompressed(rt, http_server):
    task = rt.go("http", url=http_server.url("/gzip/100000"))
    assert task.result_bytes(HANG_GUARD) == http_pattern(100_000)
    assert task.meta["status"] == 200


def test_max_bytes_bounds_the_decompressed_body(rt, http_server):
    # 8 MiB of the pattern compress to a few kB: the limit is on what the user gets.
    compressed_size = len(gzip.compress(http_pattern(8 * MiB), compresslevel=6))
    assert compressed_size < 64 * 1024
    task = rt.go("http", url=http_server.url(f"/gzip/{8 * MiB}"), max_bytes=64 * 1024)
    assert_fails(task, "max_bytes")


def test_truncated_body_fails(rt, http_server):
    assert_fails(rt.go("http", url=http_server.url("/truncated")))


# ---- deadline and cancel -------------------------------------------------------------------


def test_deadline_stops_a_slow_reply(rt, http_server):
    assert_times_out(rt.go("http", url=http_server.url("/slow/20000"), timeout=0.5))


def test_deadline_stops_an_endless_body(rt, http_server):
    assert_times_out(rt.go("http", url=http_server.url("/endless/20"), timeout=0.5))


def test_deadline_bounds_the_retries(rt, http_server):
    path = f"/flaky/{key()}/1000"
    task = rt.go("http", url=http_server.url(path), retries=500, backoff=0.05, timeout=1.0)
    assert_times_out(task)
    assert 1 <= http_server.hits[path] < 500


def test_deadline_bounds_a_retry_after_wait(rt, http_server):
    path = f"/retry-after/{key()}/503"
    task = rt.go("http", url=http_server.url(path), retries=3, backoff=0.01, timeout=0.3)
    assert_times_out(task)
    assert http_server.hits[path] == 1


def test_deadline_bounds_backoff_on_connection_errors(rt):
    url = f"http://127.0.0.1:{closed_port()}/"
    assert_times_out(rt.go("http", url=url, retries=1000, backoff=0.05, timeout=0.5))


def test_deadline_not_reached_completes(rt, http_server):
    task = rt.go("http", url=http_server.url("/slow/100"), timeout=HANG_GUARD)
    assert task.result(HANG_GUARD) == "slow 100"


@pytest.mark.parametrize("path", ["/slow/20000", "/endless/20"])
def test_cancel_stops_the_request(rt, http_server, path):
    task = rt.go("http", url=http_server.url(path))
    assert task.wait(0.2) is False
    assert task.cancel() is True
    with pytest.raises(TaskCancelled):
        task.result(HANG_GUARD)
    started = time.monotonic()
    while rt.stats().active and time.monotonic() - started < HANG_GUARD:
        time.sleep(0.01)
    assert rt.stats().active == 0


# ---- TLS ---------------------------------------------------------------------------------------


def test_tls_with_an_untrusted_certificate_fails(rt, https_server):
    err = assert_fails(rt.go("http", url=https_server.url("/ok")))
    assert "certificate" in str(err)


def test_tls_without_verify_completes(rt, https_server):
    task = rt.go("http", url=https_server.url("/ok"), verify=False)
    assert task.result(HANG_GUARD) == "ok"
    assert task.meta["url"].startswith("https://127.0.0.1:")


# ---- arguments ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ({}, "url"),
        ({"url": None}, "url"),
        ({"url": 1}, "url"),
        ({"url": b"http://127.0.0.1/"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "ftp://127.0.0.1/file"}, "url"),
        ({"url": "/relative/path"}, "url"),
        ({"method": 1}, "method"),
        ({"method": ""}, "method"),
        ({"method": "GET /evil HTTP/1.1\r\n"}, "method"),
        ({"headers": {"X-A": "b\r\nX-Injected: 1"}}, "headers"),
        ({"headers": {"Bad Name": "b"}}, "headers"),
        ({"headers": "X-A: b"}, "headers"),
        ({"headers": ["X-A", "b"]}, "headers"),
        ({"headers": {"X-A": 1}}, "headers"),
        ({"body": 1}, "body"),
        ({"body": {"a": "b"}}, "body"),
        ({"retries": -1}, "retries"),
        ({"retries": 1.5}, "retries"),
        ({"retries": "3"}, "retries"),
        ({"backoff": -0.1}, "backoff"),
        ({"backoff": "1"}, "backoff"),
        ({"backoff": float("nan")}, "backoff"),
        ({"max_bytes": -1}, "max_bytes"),
        ({"max_bytes": "1"}, "max_bytes"),
        ({"follow_redirects": "yes"}, "follow_redirects"),
        ({"raise_for_status": 1}, "raise_for_status"),
        ({"verify": "no"}, "verify"),
        ({"timeout_ms": 5}, "timeout_ms"),
        ({"data": "x"}, "data"),
    ],
)
def test_bad_arguments_raise_invalid_argument(rt, args, named):
    if named != "url":
        args = {"url": "http://127.0.0.1:9/", **args}
    with pytest.raises(InvalidArgument) as info:
        rt.go("http", **args)
    message = str(info.value)
    assert message.startswith("http: "), message
    assert f"'{named}'" in message, message
    assert rt.stats().total == 0
