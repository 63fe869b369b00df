"""Where the time goes, from py-spy's collapsed stacks (``bench/perf.py --profile DIR``).

    .venv/bin/python bench/profile_summary.py DIR/whole-site.txt [--top 25]

Per process kind (the crawl, its extraction workers), the share of samples, then the
functions with the largest inclusive share (a frame counted once per sample) and self share.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path


def frame_name(frame: str) -> str:
    """``f (govcrawl/extract/text.py:120)`` -> ``f (govcrawl/extract/text.py)``."""
    m = re.match(r"(?P<fn>.*?) \((?P<file>[^:)]*)(?::\d+)?\)$", frame)
    if not m:
        return frame
    path = m["file"]
    for marker in ("site-packages/", "/wt-perf/", "/main/", "python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{m['fn']} ({path})"


def summarize(path: Path, top: int) -> str:
    total = 0
    by_kind: Counter[str] = Counter()
    inclusive: dict[str, Counter[str]] = {}
    self_time: dict[str, Counter[str]] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        # py-spy nests a child's stacks under its parent's process frame; the child's own
        # process frame (its command line, itself split at ';') follows.
        k = "worker" if any("multiprocessing/forkserver.py" in f for f in frames) else "crawl"
        frames = [
            frame_name(f)
            for f in frames
            if not f.startswith(("thread ", "process ")) and "sys_path" not in f
        ]
        total += count
        by_kind[k] += count
        inc = inclusive.setdefault(k, Counter())
        for name in set(frames):
            inc[name] += count
        if frames:
            self_time.setdefault(k, Counter())[frames[-1]] += count
    out = [f"{path.name}: {total} samples"]
    for k, n in by_kind.most_common():
        out.append(f"\n## {k}: {n / total:.0%} of samples\n\ninclusive:")
        out += [f"  {c / total:6.1%}  {name}" for name, c in inclusive[k].most_common(top)]
        out.append("self:")
        out += [f"  {c / total:6.1%}  {name}" for name, c in self_time[k].most_common(top // 2)]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    for f in args.files:
        print(summarize(f, args.top))


if __name__ == "__main__":
    main()
