"""``make bench``: run every benchmark module and merge their figures into bench/RESULTS.md.

``python -m bench --merge`` only merges the latest ``bench/results/*.md`` (after running some
modules on their own).
"""

from __future__ import annotations

import datetime as dt
import importlib
import subprocess
import sys
from pathlib import Path

MODULES = ["foundation", "training", "ledger", "certificates", "hiring"]


def main() -> None:
    extra = sys.argv[1:]
    failures = []
    merge_only = extra == ["--merge"]
    for name in [] if merge_only else MODULES:
        if importlib.util.find_spec(f"bench.{name}") is None:
            continue
        print(f"=== bench.{name} ===", flush=True)
        code = subprocess.call([sys.executable, "-m", f"bench.{name}", *extra])
        if code:
            failures.append(name)
    results = sorted(Path("bench/results").glob("*.md"))
    header = (
        "# Benchmark results\n\n"
        "Measured with `make bench` on the shared development machine; every figure is shown next to\n"
        "a raw peer measured in the same run, and as a ratio to it. Absolute numbers vary with load;\n"
        f"ratios are what to compare. Merged {dt.date.today().isoformat()}.\n\n"
    )
    body = "\n".join(p.read_text(encoding="utf-8") for p in results)
    Path("bench/RESULTS.md").write_text(header + body, encoding="utf-8")
    if failures:
        print(f"failed: {', '.join(failures)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
