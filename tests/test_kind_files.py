"""The file kinds: read_file, write_file, hash, gzip and gunzip, checked against the stdlib."""

from __future__ import annotations

import gzip
import hashlib
import os
import random
import stat
import threading
import time
import zlib

import pytest

from gogoroutines import (
    InvalidArgument,
    ResultDecodeError,
    Status,
    TaskCancelled,
    TaskFailed,
    TaskTimedOut,
)

HANG_GUARD = 30.0
MiB = 1024 * 1024
# Sizes around the kinds' 1 MiB streaming chunk, and the empty file.
SIZES = [0, 1, 4095, MiB - 1, MiB, MiB + 1, 3 * MiB + 7]
ALGORITHMS = ["sha256", "sha1", "sha512", "md5"]


def random_bytes(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def compressible_bytes(size: int, seed: int = 0) -> bytes:
    """Text-like bytes that gzip shrinks, unlike random ones."""
    rng = random.Random(seed)
    words = [b"alpha ", b"beta ", b"gamma ", b"delta", b"\x00\xff", b"\n"]
    block = b"".join(rng.choices(words, k=20_000))  # about 100 kB
    return (block * (size // len(block) + 1))[:size]


@pytest.fixture
def make_file(tmp_path):
    """Write bytes to a new file under tmp_path and return its path as a str."""
    count = 0

    def make(data: bytes, name: str | None = None) -> str:
        nonlocal count
        count += 1
        path = tmp_path / (name or f"file_{count}.bin")
        path.write_bytes(data)
        return str(path)

    return make


def assert_fails(task, *words: str) -> TaskFailed:
    """The task fails (not by timeout) with a message containing every word."""
    with pytest.raises(TaskFailed) as info:
        task.result_bytes(HANG_GUARD)
    err = info.value
    assert not isinstance(err, TaskTimedOut)
    assert task.status is Status.FAILED
    for word in words:
        assert word in str(err), f"{word!r} not in {str(err)!r}"
    return err


def assert_invalid(rt, kind: str, named: str, *words: str, **args) -> None:
    """go() raises InvalidArgument at once, naming the argument; nothing is spawned."""
    with pytest.raises(InvalidArgument) as info:
        rt.go(kind, **args)
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert message.startswith(f"{kind}: "), message
    assert f"'{named}'" in message, message
    for word in words:
        assert word in message, message
    assert rt.stats().total == 0


# ---- hash ---------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("size", SIZES)
def test_hash_of_a_file_matches_hashlib(rt, make_file, algorithm, size):
    data = random_bytes(size, seed=size)
    path = make_file(data)
    task = rt.go("hash", path=path, algorithm=algorithm)
    assert task.result(HANG_GUARD) == hashlib.new(algorithm, data).hexdigest()
    assert task.status is Status.COMPLETED


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("size", [0, 1, 1000, MiB + 1])
def test_hash_of_data_matches_hashlib(rt, algorithm, size):
    data = random_bytes(size, seed=size + 1)
    task = rt.go("hash", data=data, algorithm=algorithm)
    assert task.result(HANG_GUARD) == hashlib.new(algorithm, data).hexdigest()


def test_hash_default_algorithm_is_sha256(rt, make_file):
    data = random_bytes(10_000)
    assert rt.go("hash", data=data).result(HANG_GUARD) == hashlib.sha256(data).hexdigest()
    path = make_file(data)
    assert rt.go("hash", path=path).result(HANG_GUARD) == hashlib.sha256(data).hexdigest()


def test_hash_of_str_data_hashes_its_utf8(rt):
    text = "naïve ☃ \x00 😀"
    expected = hashlib.sha256(text.encode()).hexdigest()
    assert rt.go("hash", data=text).result(HANG_GUARD) == expected
    assert rt.go("hash", data=text.encode()).result(HANG_GUARD) == expected


def test_hash_of_empty_data(rt):
    assert rt.go("hash", data=b"").result(HANG_GUARD) == hashlib.sha256(b"").hexdigest()
    assert rt.go("hash", data="", algorithm="md5").result(HANG_GUARD) == hashlib.md5().hexdigest()


@pytest.mark.parametrize(
    "make",
    [bytearray, memoryview, lambda b: memoryview(b)[::2]],
    ids=["bytearray", "memoryview", "strided"],
)
def test_hash_of_bytes_like_data(rt, make):
    data = make(random_bytes(5000))
    expected = hashlib.sha1(bytes(data)).hexdigest()
    assert rt.go("hash", data=data, algorithm="sha1").result(HANG_GUARD) == expected


def test_hash_of_the_same_file_from_many_tasks(rt, make_file):
    files = [(make_file(random_bytes(20_000 + i, seed=i)), i) for i in range(50)]
    tasks = [(rt.go("hash", path=path, algorithm="md5"), i) for path, i in files]
    for task, i in tasks:
        expected = hashlib.md5(random_bytes(20_000 + i, seed=i)).hexdigest()
        assert task.result(HANG_GUARD) == expected


def test_hash_of_a_missing_file_fails_naming_it(rt, tmp_path):
    path = str(tmp_path / "no such file")
    assert_fails(rt.go("hash", path=path), path, "no such file")


def test_hash_of_a_directory_fails(rt, tmp_path):
    assert_fails(rt.go("hash", path=str(tmp_path)), str(tmp_path))


def test_hash_of_a_relative_path_uses_the_process_cwd(rt, tmp_path, monkeypatch):
    (tmp_path / "rel.txt").write_bytes(b"relative")
    monkeypatch.chdir(tmp_path)
    expected = hashlib.sha256(b"relative").hexdigest()
    assert rt.go("hash", path="rel.txt").result(HANG_GUARD) == expected


def test_hash_of_a_path_with_unicode_and_spaces(rt, make_file):
    path = make_file(b"unicode", name="naïve ☃ file name.txt")
    assert rt.go("hash", path=path).result(HANG_GUARD) == hashlib.sha256(b"unicode").hexdigest()


def big_sparse_file(tmp_path, size: int = 8 << 30) -> str:
    """A file of `size` zero bytes that takes no disk space (a hole)."""
    path = tmp_path / "sparse.bin"
    with open(path, "wb") as f:
        f.truncate(size)
    return str(path)


@pytest.mark.parametrize("kind", ["hash", "gzip"])
def test_deadline_stops_a_long_file_task(rt, tmp_path, kind):
    # 8 GiB takes far longer than the deadline: the task must stop between chunks.
    task = rt.go(kind, path=big_sparse_file(tmp_path), timeout=0.2)
    with pytest.raises(TaskTimedOut):
        task.result_bytes(HANG_GUARD)
    assert task.status is Status.FAILED


@pytest.mark.parametrize("kind", ["hash", "gzip"])
def test_cancel_stops_a_long_file_task(rt, tmp_path, kind):
    task = rt.go(kind, path=big_sparse_file(tmp_path))
    assert task.wait(0.1) is False
    assert task.cancel() is True
    with pytest.raises(TaskCancelled):
        task.result_bytes(HANG_GUARD)
    # The work stops too: the runtime has no active task left soon after.
    deadline = time.monotonic() + HANG_GUARD
    while rt.stats().active and time.monotonic() < deadline:
        time.sleep(0.01)
    assert rt.stats().active == 0


@pytest.mark.parametrize(
    ("args", "named", "words"),
    [
        ({}, "data", "required"),
        ({"data": b"x", "path": "/etc/hostname"}, "data", "exactly one"),
        ({"data": 1}, "data", "str or bytes"),
        ({"data": ["a"]}, "data", "str or bytes"),
        ({"path": 1}, "path", "str"),
        ({"path": b"/etc/hostname"}, "path", "str"),
        ({"data": b"x", "algorithm": "sha3_256"}, "algorithm", "sha3_256"),
        ({"data": b"x", "algorithm": "SHA256"}, "algorithm", "SHA256"),
        ({"data": b"x", "algorithm": ""}, "algorithm", "sha256"),
        ({"data": b"x", "algorithm": 256}, "algorithm", "str"),
        ({"data": b"x", "level": 1}, "level", "unexpected"),
    ],
)
def test_hash_bad_arguments(rt, args, named, words):
    assert_invalid(rt, "hash", named, words, **args)


def test_hash_unknown_algorithm_lists_the_known_ones(rt):
    with pytest.raises(InvalidArgument) as info:
        rt.go("hash", data=b"x", algorithm="crc32")
    for name in ALGORITHMS:
        assert name in str(info.value)


# ---- gzip and gunzip -------------------------------------------------------------------------


@pytest.mark.parametrize("level", [-1, 0, 1, 5, 6, 9])
@pytest.mark.parametrize("size", [0, 1, 100_000, MiB + 1])
def test_gzip_output_is_read_by_python(rt, level, size):
    data = compressible_bytes(size, seed=size)
    compressed = rt.go("gzip", data=data, level=level).result_bytes(HANG_GUARD)
    assert compressed[:2] == b"\x1f\x8b"  # a gzip member
    assert gzip.decompress(compressed) == data


def test_gzip_default_level_compresses(rt):
    data = compressible_bytes(MiB)
    compressed = rt.go("gzip", data=data).result_bytes(HANG_GUARD)
    assert gzip.decompress(compressed) == data
    assert len(compressed) < len(data) // 2


def test_gzip_level_0_stores(rt):
    data = random_bytes(100_000)
    compressed = rt.go("gzip", data=data, level=0).result_bytes(HANG_GUARD)
    assert gzip.decompress(compressed) == data
    assert len(compressed) > len(data)  # stored blocks plus the gzip framing


@pytest.mark.parametrize("size", SIZES)
def test_gzip_of_a_file(rt, make_file, size):
    data = random_bytes(size, seed=size)
    compressed = rt.go("gzip", path=make_file(data)).result_bytes(HANG_GUARD)
    assert gzip.decompress(compressed) == data


def test_gzip_of_str_data_compresses_its_utf8(rt):
    text = "naïve ☃\x00" * 1000
    assert gzip.decompress(rt.go("gzip", data=text).result_bytes()) == text.encode()


@pytest.mark.parametrize("level", [0, 1, 9])
@pytest.mark.parametrize("size", [0, 1, 100_000, MiB + 1])
def test_gunzip_reads_python_gzip(rt, level, size):
    data = compressible_bytes(size, seed=size + level)
    compressed = gzip.compress(data, compresslevel=level)
    task = rt.go("gunzip", data=compressed)
    assert task.result_bytes(HANG_GUARD) == data


@pytest.mark.parametrize("size", SIZES)
def test_gunzip_of_a_file(rt, make_file, size):
    data = random_bytes(size, seed=size)
    path = make_file(gzip.compress(data, compresslevel=1), name="data.gz")
    assert rt.go("gunzip", path=path).result_bytes(HANG_GUARD) == data


def test_gunzip_of_several_members_concatenates_them(rt):
    compressed = gzip.compress(b"first ") + gzip.compress(b"second") + gzip.compress(b"")
    assert rt.go("gunzip", data=compressed).result_bytes(HANG_GUARD) == b"first second"
    assert gzip.decompress(compressed) == b"first second"


def test_gunzip_result_can_be_text(rt):
    text = "naïve ☃"
    assert rt.go("gunzip", data=gzip.compress(text.encode())).result(HANG_GUARD) == text


def test_gunzip_non_utf8_result_needs_result_bytes(rt):
    data = b"\xff\xfe" * 100
    task = rt.go("gunzip", data=gzip.compress(data))
    with pytest.raises(ResultDecodeError):
        task.result(HANG_GUARD)
    assert task.result_bytes() == data


def test_gzip_then_gunzip_round_trip_100_mib(rt):
    data = random_bytes(64 * MiB) + compressible_bytes(36 * MiB)
    compressed = rt.go("gzip", data=data, level=1).result_bytes(HANG_GUARD)
    restored = rt.go("gunzip", data=compressed).result_bytes(HANG_GUARD)
    assert len(restored) == len(data)
    assert restored == data


def test_echo_round_trip_100_mib(rt):
    data = random_bytes(100 * MiB, seed=7)
    result = rt.go("echo", data=data).result_bytes(HANG_GUARD)
    assert result == data


def test_gzip_file_to_file_round_trip(rt, make_file, tmp_path):
    data = compressible_bytes(5 * MiB)
    source = make_file(data)
    compressed = rt.go("gzip", path=source, level=1).result_bytes(HANG_GUARD)
    target = str(tmp_path / "out.gz")
    assert rt.go("write_file", path=target, data=compressed).result() == str(len(compressed))
    assert rt.go("gunzip", path=target).result_bytes(HANG_GUARD) == data


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "empty"),
        (b"not gzip", "short garbage"),
        (b"this is definitely not a gzip stream, just text" * 10, "garbage"),
        (gzip.compress(b"x" * 10_000)[:-9], "truncated"),
        (gzip.compress(b"x" * 10_000)[:20], "truncated-early"),
        (zlib.compress(b"zlib, not gzip"), "zlib"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_gunzip_of_bad_data_fails(rt, data, why):
    assert_fails(rt.go("gunzip", data=data))


def test_gunzip_of_a_corrupt_checksum_fails(rt):
    compressed = bytearray(gzip.compress(b"checked data" * 100))
    compressed[-8] ^= 0xFF  # the CRC-32 of the trailer
    assert_fails(rt.go("gunzip", data=bytes(compressed)))


def test_gunzip_of_a_corrupt_length_fails(rt):
    compressed = bytearray(gzip.compress(b"checked data" * 100))
    compressed[-1] ^= 0x01  # ISIZE, the length of the trailer
    assert_fails(rt.go("gunzip", data=bytes(compressed)))


def test_gunzip_of_a_missing_file_fails_naming_it(rt, tmp_path):
    path = str(tmp_path / "missing.gz")
    assert_fails(rt.go("gunzip", path=path), path)


def test_gzip_of_a_missing_file_fails_naming_it(rt, tmp_path):
    path = str(tmp_path / "missing.bin")
    assert_fails(rt.go("gzip", path=path), path)


@pytest.mark.parametrize("source", ["data", "path"])
def test_gunzip_max_bytes(rt, make_file, source):
    data = compressible_bytes(300_000)
    compressed = gzip.compress(data)
    arg = compressed if source == "data" else make_file(compressed)
    exact = rt.go("gunzip", **{source: arg}, max_bytes=len(data))
    assert exact.result_bytes(HANG_GUARD) == data
    bigger = rt.go("gunzip", **{source: arg}, max_bytes=len(data) + 1)
    assert bigger.result_bytes(HANG_GUARD) == data
    assert_fails(rt.go("gunzip", **{source: arg}, max_bytes=len(data) - 1), "max_bytes")
    assert_fails(rt.go("gunzip", **{source: arg}, max_bytes=1), "max_bytes")


def test_gunzip_max_bytes_guards_against_a_bomb(rt):
    # 1 GiB of zeros in about 1 MiB (64 gzip members of 16 MiB each): the limit stops it
    # long before the output is built.
    bomb = gzip.compress(bytes(16 * MiB), compresslevel=9) * 64
    assert len(bomb) < 2 * MiB
    err = assert_fails(rt.go("gunzip", data=bomb, max_bytes=MiB), "max_bytes")
    assert str(MiB) in str(err)


@pytest.mark.parametrize(
    ("kind", "args", "named", "words"),
    [
        ("gzip", {}, "data", "required"),
        ("gzip", {"data": b"x", "path": "/etc/hostname"}, "data", "exactly one"),
        ("gzip", {"data": 3}, "data", "str or bytes"),
        ("gzip", {"path": 3}, "path", "str"),
        ("gzip", {"data": b"x", "level": 10}, "level", "10"),
        ("gzip", {"data": b"x", "level": -2}, "level", "-2"),
        ("gzip", {"data": b"x", "level": 1.5}, "level", "int"),
        ("gzip", {"data": b"x", "level": "9"}, "level", "int"),
        ("gzip", {"data": b"x", "level": True}, "level", "int"),
        ("gzip", {"data": b"x", "max_bytes": 1}, "max_bytes", "unexpected"),
        ("gunzip", {}, "data", "required"),
        ("gunzip", {"data": b"x", "path": "/etc/hostname"}, "data", "exactly one"),
        ("gunzip", {"data": 3}, "data", "bytes"),
        ("gunzip", {"path": 3}, "path", "str"),
        ("gunzip", {"data": b"x", "max_bytes": -1}, "max_bytes", "-1"),
        ("gunzip", {"data": b"x", "max_bytes": 1.0}, "max_bytes", "int"),
        ("gunzip", {"data": b"x", "max_bytes": "10"}, "max_bytes", "int"),
        ("gunzip", {"data": b"x", "level": 1}, "level", "unexpected"),
    ],
)
def test_gzip_bad_arguments(rt, kind, args, named, words):
    assert_invalid(rt, kind, named, words, **args)


# ---- read_file -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_read_file_returns_the_contents(rt, make_file, size):
    data = random_bytes(size, seed=size)
    task = rt.go("read_file", path=make_file(data))
    assert task.result_bytes(HANG_GUARD) == data
    assert task.status is Status.COMPLETED


def test_read_file_text_result(rt, make_file):
    text = "line one\nnaïve ☃\n\x00end"
    assert rt.go("read_file", path=make_file(text.encode())).result(HANG_GUARD) == text


def test_read_file_non_utf8_needs_result_bytes(rt, make_file):
    task = rt.go("read_file", path=make_file(b"\x80\x81\xff"))
    with pytest.raises(ResultDecodeError):
        task.result(HANG_GUARD)
    assert task.result_bytes() == b"\x80\x81\xff"


def test_read_file_of_a_file_without_a_size(rt):
    # /proc files report size 0 but have contents: the read must not trust the size.
    with open("/proc/version", "rb") as f:
        expected = f.read()
    assert expected
    assert rt.go("read_file", path="/proc/version").result_bytes(HANG_GUARD) == expected


def test_read_file_max_bytes(rt, make_file):
    data = random_bytes(10_000)
    path = make_file(data)
    assert rt.go("read_file", path=path, max_bytes=10_000).result_bytes(HANG_GUARD) == data
    assert rt.go("read_file", path=path, max_bytes=0).result_bytes(HANG_GUARD) == data  # no limit
    err = assert_fails(rt.go("read_file", path=path, max_bytes=9_999), "max_bytes", path)
    assert "9999" in str(err)


def test_read_file_max_bytes_of_a_file_without_a_size(rt):
    assert_fails(rt.go("read_file", path="/proc/version", max_bytes=5), "max_bytes")


def test_read_file_max_bytes_refuses_a_huge_file_at_once(rt, tmp_path):
    # 8 GiB is refused from its size, without reading (or allocating) it.
    task = rt.go("read_file", path=big_sparse_file(tmp_path), max_bytes=MiB)
    assert_fails(task, "max_bytes")


def test_read_file_of_a_missing_file_fails_naming_it(rt, tmp_path):
    path = str(tmp_path / "missing.txt")
    err = assert_fails(rt.go("read_file", path=path), path, "no such file")
    assert "read_file" in str(err)


def test_read_file_of_a_directory_fails(rt, tmp_path):
    assert_fails(rt.go("read_file", path=str(tmp_path)), str(tmp_path))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_read_file_without_permission_fails(rt, make_file):
    path = make_file(b"secret")
    os.chmod(path, 0)
    assert_fails(rt.go("read_file", path=path), path, "permission denied")


def test_read_file_relative_path_uses_the_process_cwd(rt, tmp_path, monkeypatch):
    (tmp_path / "here.txt").write_bytes(b"here")
    monkeypatch.chdir(tmp_path)
    assert rt.go("read_file", path="here.txt").result(HANG_GUARD) == "here"


@pytest.mark.parametrize(
    ("args", "named", "words"),
    [
        ({}, "path", "required"),
        ({"path": None}, "path", "required"),
        ({"path": 1}, "path", "str"),
        ({"path": b"/etc/hostname"}, "path", "str"),
        ({"path": "/etc/hostname", "max_bytes": -1}, "max_bytes", "-1"),
        ({"path": "/etc/hostname", "max_bytes": "1"}, "max_bytes", "int"),
        ({"path": "/etc/hostname", "data": b"x"}, "data", "unexpected"),
    ],
)
def test_read_file_bad_arguments(rt, args, named, words):
    assert_invalid(rt, "read_file", named, words, **args)


# ---- write_file ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_write_file_writes_and_returns_the_byte_count(rt, tmp_path, size):
    data = random_bytes(size, seed=size)
    path = tmp_path / "out.bin"
    task = rt.go("write_file", path=str(path), data=data)
    assert task.result(HANG_GUARD) == str(size)
    assert path.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]  # no temporary file left


def test_write_file_str_is_written_as_utf8_and_counted_in_bytes(rt, tmp_path):
    path = tmp_path / "text.txt"
    text = "naïve ☃ 😀"
    assert rt.go("write_file", path=str(path), data=text).result() == str(len(text.encode()))
    assert path.read_text(encoding="utf-8") == text


def test_write_file_replaces_an_existing_file(rt, tmp_path):
    path = tmp_path / "replace.txt"
    path.write_bytes(b"old contents that are longer than the new ones")
    assert rt.go("write_file", path=str(path), data=b"new").result(HANG_GUARD) == "3"
    assert path.read_bytes() == b"new"
    assert rt.go("write_file", path=str(path), data=b"").result(HANG_GUARD) == "0"
    assert path.read_bytes() == b""


def test_write_file_keeps_the_permissions_of_an_existing_file(rt, tmp_path):
    path = tmp_path / "private.txt"
    path.write_bytes(b"old")
    path.chmod(0o600)
    rt.go("write_file", path=str(path), data=b"new").result(HANG_GUARD)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o751)
    rt.go("write_file", path=str(path), data=b"newer").result(HANG_GUARD)
    assert stat.S_IMODE(path.stat().st_mode) == 0o751


def test_write_file_then_read_file_round_trip(rt, tmp_path):
    data = random_bytes(32 * MiB, seed=3)
    path = str(tmp_path / "big.bin")
    assert rt.go("write_file", path=path, data=data).result(HANG_GUARD) == str(len(data))
    assert rt.go("read_file", path=path).result_bytes(HANG_GUARD) == data


def test_write_file_relative_path_uses_the_process_cwd(rt, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert rt.go("write_file", path="rel.txt", data="rel").result(HANG_GUARD) == "3"
    assert (tmp_path / "rel.txt").read_bytes() == b"rel"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rel.txt"]


def test_write_file_into_a_missing_directory_fails(rt, tmp_path):
    path = str(tmp_path / "no" / "such" / "dir.txt")
    assert_fails(rt.go("write_file", path=path, data=b"x"), str(tmp_path / "no" / "such"))
    assert list(tmp_path.iterdir()) == []


def test_write_file_over_a_directory_fails_and_leaves_nothing_behind(rt, tmp_path):
    target = tmp_path / "a_directory"
    target.mkdir()
    (target / "inside").write_bytes(b"keep")
    assert_fails(rt.go("write_file", path=str(target), data=b"x"))
    assert target.is_dir()
    assert (target / "inside").read_bytes() == b"keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_directory"]  # no temporary file


def test_write_file_is_atomic_for_readers(rt, tmp_path):
    # Readers racing many writes see one whole version or another, never a mix or a part.
    path = tmp_path / "atomic.bin"
    versions = [bytes([i]) * (2 * MiB + i) for i in range(8)]
    path.write_bytes(versions[0])
    stop = threading.Event()
    seen: set[int] = set()
    bad: list[str] = []

    def reader() -> None:
        for _ in range(100_000):
            if stop.is_set():
                return
            data = path.read_bytes()
            if data not in versions:
                bad.append(f"read {len(data)} bytes that are no version")
                return
            seen.add(versions.index(data))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for round_ in range(3):
            for i, data in enumerate(versions):
                task = rt.go("write_file", path=str(path), data=data)
                assert task.result(HANG_GUARD) == str(len(data)), (round_, i)
    finally:
        stop.set()
        thread.join(HANG_GUARD)
    assert not thread.is_alive()
    assert bad == []
    assert path.read_bytes() == versions[-1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["atomic.bin"]


def test_many_concurrent_writes_to_different_files(rt, tmp_path):
    tasks = {
        i: rt.go("write_file", path=str(tmp_path / f"f{i}"), data=random_bytes(1000 + i, seed=i))
        for i in range(100)
    }
    for i, task in tasks.items():
        assert task.result(HANG_GUARD) == str(1000 + i)
        assert (tmp_path / f"f{i}").read_bytes() == random_bytes(1000 + i, seed=i)
    assert len(list(tmp_path.iterdir())) == 100


@pytest.mark.parametrize(
    ("args", "named", "words"),
    [
        ({"data": b"x"}, "path", "required"),
        ({"path": "/tmp/never-written"}, "data", "required"),
        ({"path": 1, "data": b"x"}, "path", "str"),
        ({"path": "/tmp/never-written", "data": 1}, "data", "str or bytes"),
        ({"path": "/tmp/never-written", "data": None}, "data", "required"),
        ({"path": "/tmp/never-written", "data": b"x", "mode": 0o600}, "mode", "unexpected"),
    ],
)
def test_write_file_bad_arguments(rt, args, named, words):
    assert_invalid(rt, "write_file", named, words, **args)
    assert not os.path.exists("/tmp/never-written")
