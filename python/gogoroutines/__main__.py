"""``python -m gogoroutines``: what the package holds, and a demo.

``python -m gogoroutines`` prints the package and Go versions, GOMAXPROCS and
the task kinds with their arguments (what ``php --ri`` printed for the PHP
extension). ``python -m gogoroutines demo`` runs concurrent tasks and shows
their progress and the runtime's stats.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from typing import Any

from . import __version__
from ._loader import load_core
from .runtime import Runtime


def info() -> dict[str, Any]:
    """Return the Go runtime's description: versions, GOMAXPROCS, task kinds."""
    result: dict[str, Any] = json.loads(load_core().info_json())
    return result


# The Go parameter types (go/kind: Type.String), as a Python caller writes them.
_PYTHON_TYPES = {
    "string": "str",
    "string or bytes": "str | bytes",
    "int": "int",
    "number": "float",
    "bool": "bool",
    "list of strings": "list[str]",
    "map of string to string": "dict[str, str]",
    "channel": "Channel",
    "any": "Any",
}


def _python_default(value: Any) -> str:
    """A parameter's default (a JSON value) as Python source."""
    return "None" if value is None else repr(value)


def print_info() -> None:
    """Print versions, GOMAXPROCS and the task kinds with their arguments."""
    data = info()
    print(f"gogoroutines {__version__}")
    print(f"Go version     {data['go_version']} ({data['goos']}/{data['goarch']})")
    print(f"GOMAXPROCS     {data['gomaxprocs']} (CPUs: {data['num_cpu']})")
    for problem in data.get("problems", []):
        print(f"Error          {problem}")
    print("Task kinds (Runtime.go(kind, timeout=None, **args)):")
    for kind in data["kinds"]:
        params = kind["params"] or []
        signature = ", ".join(p["name"] + ("" if p["required"] else "=…") for p in params)
        origin = "" if kind["builtin"] else f"  [{kind['package']}]"  # added to this build
        print(f"  {kind['name']}({signature}){origin}")
        print(f"      {kind['doc']}")
        types = [_PYTHON_TYPES.get(p["type"], p["type"]) for p in params]
        name_width = max((len(p["name"]) for p in params), default=0)
        type_width = max((len(t) for t in types), default=0)
        for p, type_name in zip(params, types, strict=True):
            default = "required" if p["required"] else f"default {_python_default(p['default'])}"
            print(
                f"      {p['name']:<{name_width}}  {type_name:<{type_width}}  "
                f"{default:<18} {p['doc']}"
            )


def demo(count: int, out: Any = sys.stdout) -> None:
    """Run `count` delayed tasks concurrently, showing progress and stats."""
    delays = [random.randint(100, 1000) for _ in range(count)]
    print(
        f"Starting {count} goroutines that each wait 100-1000 ms "
        f"(sum of the waits: {sum(delays) / 1000:.1f} s)...",
        file=out,
    )
    started = time.perf_counter()
    with Runtime() as rt:
        api = {
            name: rt.go("task", task=f"Fetch {name}") for name in ("users", "products", "orders")
        }
        tasks = [rt.go("delayed", delay_ms=ms) for ms in delays]
        print(f"  {rt.stats()}", file=out)
        # Wait for the tasks in the order they finish: shortest delay first.
        for done, i in enumerate(sorted(range(count), key=delays.__getitem__), start=1):
            tasks[i].wait(timeout=10)
            bar = "#" * (30 * done // count)
            print(f"\r  [{bar:<30}] {done}/{count}  {rt.stats()}", end="", file=out, flush=True)
        print(file=out)
        for name, task in api.items():
            print(f"  {name}: {task.result(timeout=10)}", file=out)
        print(f"  last result: {tasks[-1].result()}", file=out)
        print(f"  {rt.stats()}", file=out)
    elapsed = time.perf_counter() - started
    print(f"All {count + len(api)} tasks done in {elapsed:.2f} s of wall time.", file=out)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m gogoroutines`` and the ``gogoroutines`` script."""
    parser = argparse.ArgumentParser(
        prog="python -m gogoroutines",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("info", help="versions, GOMAXPROCS and task kinds (the default)")
    demo_parser = sub.add_parser("demo", help="run concurrent tasks and show progress")
    demo_parser.add_argument("-n", "--count", type=int, default=20, help="tasks to run")
    args = parser.parse_args(argv)
    if args.command == "demo":
        if args.count < 1:
            parser.error("--count must be at least 1")
        demo(args.count)
    else:
        print_info()
    return 0


if __name__ == "__main__":
    sys.exit(main())
