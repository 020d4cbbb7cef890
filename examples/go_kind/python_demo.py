"""The count_words kind of examples/go_kind, used from Python.

Build gogoroutines with the kind first (from the repository's root):

    pip install . --config-settings=cmake.define.GOGOROUTINES_GO_KINDS=$PWD/examples/go_kind
    python examples/go_kind/python_demo.py [FILE...]

It counts a text (one task, reading its meta), many texts (a map), and the given
files (or this script) in a group, like ``wc``. The texts' counts are checked
against Python's own: ``len(text.split())`` words, ``text.count("\\n")`` lines and
the UTF-8 length in bytes; the files' against their sizes. It exits 0 on success.
"""

from __future__ import annotations

import sys
from pathlib import Path

import gogoroutines


def python_counts(text: str) -> dict[str, int]:
    """What count_words counts, computed by Python (for text without the ASCII
    separators \\x1c-\\x1f, which str.split treats as white space and Go does not)."""
    return {"lines": text.count("\n"), "words": len(text.split()), "bytes": len(text.encode())}


def as_result(counts: dict[str, int]) -> str:
    return f"{counts['lines']} {counts['words']} {counts['bytes']}"


def main(argv: list[str]) -> int:
    files = [Path(p) for p in argv] or [Path(__file__)]
    texts = ["", "one two three\nfour\n", "héllo wörld\n日本語\u3000テキスト 🙂\n"]

    with gogoroutines.Runtime() as rt:
        # One task: the result is "lines words bytes"; meta has the same as a dict.
        task = rt.go("count_words", data=texts[1])
        print(f"result: {task.result(timeout=10)!r}  meta: {task.meta}")
        assert task.meta == python_counts(texts[1]), task.meta

        # Many tasks: one per dict of arguments, the results in input order.
        items = [{"data": f"{t} {i}\n" * (i % 7)} for i, t in enumerate(texts * 500)]
        results = list(rt.map("count_words", items))
        assert results == [as_result(python_counts(item["data"])) for item in items]
        print(f"map: {len(results)} texts counted")

        # Files, all at once, in a group: if one fails the others are cancelled
        # and the block raises an ExceptionGroup.
        with rt.group() as group:
            tasks = [group.go("count_words", path=str(f)) for f in files]
        for f, task in zip(files, tasks, strict=True):
            print(f"{task.result()} {f}")
            assert task.meta["bytes"] == f.stat().st_size, (f, task.meta)

        # A bad argument fails at spawn, naming it (an InvalidArgument is a ValueError).
        try:
            rt.go("count_words", data="x", max_bytes=-1)
        except gogoroutines.InvalidArgument as err:
            print(f"InvalidArgument: {err}")
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
