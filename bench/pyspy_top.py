"""Summarise a ``py-spy record -f raw`` file: top functions by self and total time.

    py-spy record --subprocesses -r 250 -f raw -o w1.raw -- \\
        python bench/run.py --workloads w1 --no-pgbench --jobs 3000
    python bench/pyspy_top.py w1.raw [--process spawn_main] [--top 25]

or, for one process of the harness, ``bench/run.py --pyspy DIR`` and
``python bench/pyspy_top.py DIR/w1-0.raw``.

``--process`` keeps, in ``--subprocesses`` output, the processes whose command
line contains the text. Percentages are of the kept samples: py-spy records
running (not idle) threads, so they are shares of CPU time, except for the
event loop's ``epoll_wait`` (``EpollSelector.select``), which py-spy does not
always see as idle: those samples are counted apart as waiting, and left out.
With ``--seconds`` (the load phase's ``elapsed_s``) and ``--rate`` (250, as
``bench/run.py`` records), the busy share of the process is printed too.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<fn>.*?) \((?P<file>[^():]+)(?::\d+)?\)$")


def _name(frame: str) -> str:
    """``fn (path/to/file.py:12)`` -> ``file.py:fn`` (line numbers merged)."""
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    return f"{Path(m['file']).name}:{m['fn']}"


def summarise(
    path: Path, process: str, top: int, seconds: float | None = None, rate: int = 250
) -> str:
    self_time: Counter[str] = Counter()
    total_time: Counter[str] = Counter()
    files: Counter[str] = Counter()
    samples = idle_threads = polling = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = stack.split(";")
        if frames[0].startswith("process "):  # --subprocesses output
            if process not in frames[0]:
                continue
            frames = frames[1:]
        if not frames or frames[0].startswith("Thread._bootstrap "):
            # executor threads parked in queue.get: idle, though py-spy
            # does not always see it
            idle_threads += int(count_text)
            continue
        count = int(count_text)
        names = [_name(f) for f in frames]
        if names[-1] == "selectors.py:EpollSelector.select":
            polling += count  # the event loop waiting for a socket
            continue
        samples += count
        self_time[names[-1]] += count
        for name in set(names):
            total_time[name] += count
        files[names[-1].split(":", 1)[0]] += count
    out = [
        f"{samples} samples of processes matching {process!r} "
        f"({idle_threads} of idle executor threads and {polling} in epoll_wait "
        "left out)",
    ]
    if seconds:
        busy = 100 * samples / (seconds * rate)
        waiting = 100 * polling / (seconds * rate)
        out.append(
            f"busy {busy:.0f} % of {seconds:.1f} s at {rate} Hz, "
            f"in epoll_wait {waiting:.0f} %"
        )
    out.append("")
    for title, counter in (
        ("self", self_time),
        ("total (inclusive)", total_time),
        ("self by file", files),
    ):
        out.append(f"top {top} by {title}:")
        for name, count in counter.most_common(top):
            out.append(f"  {100 * count / max(samples, 1):5.1f}%  {name}")
        out.append("")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("raw", type=Path)
    parser.add_argument("--process", default="")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--seconds", type=float, help="the recording's length")
    parser.add_argument("--rate", type=int, default=250, help="py-spy's -r")
    args = parser.parse_args()
    print(summarise(args.raw, args.process, args.top, args.seconds, args.rate))


if __name__ == "__main__":
    main()
