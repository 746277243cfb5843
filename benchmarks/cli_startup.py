"""How long the `mystira` command takes to start, and which imports it waits for.

    uv run python benchmarks/cli_startup.py [--runs 5] [--top 12] [--cold]

Runs the installed console script (`mystira` beside this interpreter) in fresh processes:
``--help`` and ``phase get`` on the embedded stores of an empty temporary data dir (the
SQLite relational file is created and migrated on open). Prints the best of ``--runs`` wall
times in ms against the goals (``--help`` ≤ 500 ms, ``phase get`` ≤ 1500 ms), then, per
command, the slowest imports by cumulative time and the packages by their own import time
(``python -X importtime``; the listing's own overhead inflates those numbers a little).

Python caches compiled modules. By default the runs use a private cache (PYTHONPYCACHEPREFIX
in the temporary dir) warmed by one untimed run, as an installed tool runs from its second
start on. ``--cold`` writes no cache (PYTHONDONTWRITEBYTECODE=1): only the bytecode the
installation holds is used, which in a virtualenv synced by uv without ``--compile-bytecode``
is none beyond the standard library's, so every package is compiled again on every run.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

GOALS_MS = {"--help": 500.0, "phase get": 1500.0}
IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


@dataclass(frozen=True)
class Imported:
    own_us: int
    cumulative_us: int
    name: str


def command() -> list[str]:
    """The console script of this environment, else the module (same code, same imports)."""
    script = Path(sys.executable).with_name("mystira")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mystira_data"]


def environment(work: Path, cold: bool) -> dict[str, str]:
    env = dict(os.environ)
    if cold:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    else:
        # Python then reads and writes compiled modules there only, never in __pycache__.
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def wall_ms(argv: Sequence[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1000


def best_ms(argv: Sequence[str], env: dict[str, str], runs: int) -> float:
    return min(wall_ms(argv, env) for _ in range(runs))


def imports(args: Sequence[str], env: dict[str, str]) -> list[Imported]:
    argv = [sys.executable, "-X", "importtime", "-m", "mystira_data", *args]
    done = subprocess.run(argv, env=env, check=True, capture_output=True, text=True)
    found = (IMPORT_LINE.match(line) for line in done.stderr.splitlines())
    return [Imported(int(m[1]), int(m[2]), m[4]) for m in found if m]


def package(name: str) -> str:
    """A third-party top-level package, or our module's subpackage (`mystira_data.cli`)."""
    parts = name.split(".")
    return ".".join(parts[:2]) if parts[0] == "mystira_data" else parts[0]


def report_imports(label: str, found: list[Imported], top: int) -> None:
    total = sum(i.own_us for i in found) / 1000
    print(f"\n{label}: {len(found)} modules, {total:.0f} ms of imports")
    print("  slowest imports (cumulative ms):")
    for i in sorted(found, key=lambda i: -i.cumulative_us)[:top]:
        print(f"    {i.cumulative_us / 1000:8.1f}  {i.name}")
    own: dict[str, int] = defaultdict(int)
    for i in found:
        own[package(i.name)] += i.own_us
    print("  packages (own ms):")
    for name, us in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        print(f"    {us / 1000:8.1f}  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="Best of this many runs.")
    parser.add_argument("--top", type=int, default=12, help="Imports listed per command.")
    parser.add_argument("--cold", action="store_true", help="No compiled-module cache.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mystira-cli-startup-") as tmp:
        work = Path(tmp)
        env = environment(work, args.cold)
        data = ["--data-dir", str(work / "data")]
        cases = {"--help": ["--help"], "phase get": [*data, "phase", "get"]}
        for argv in cases.values():
            wall_ms([*command(), *argv], env)  # warms the cache; creates the stores
        mode = "bytecode as installed, none written" if args.cold else "cached bytecode"
        print(f"mystira startup, best of {args.runs} ({mode})")
        for label, argv in cases.items():
            ms = best_ms([*command(), *argv], env, args.runs)
            verdict = "ok" if ms <= GOALS_MS[label] else "OVER"
            print(f"  {label:<10} {ms:8.0f} ms  (goal <= {GOALS_MS[label]:.0f} ms: {verdict})")
        for label, argv in cases.items():
            report_imports(label, imports(argv, env), args.top)


if __name__ == "__main__":
    main()
