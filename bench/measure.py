"""Run one command and report its wall time, CPU time and memory as JSON.

Usage: python bench/measure.py OUT.json STDOUT_FILE STDERR_FILE -- COMMAND...

Started fresh for every measurement, so ``getrusage(RUSAGE_CHILDREN)`` covers exactly
the command and every process it waited for (a build's parser workers included):
user and system CPU seconds, and ``ru_maxrss``, the peak RSS of the largest single
process. A sampler also sums the proportional set size (PSS) and the RSS of the whole
process tree every 20 ms; PSS counts pages that forked workers share with their parent
once, so its peak is what the command really cost in memory.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return found


def _tree(root: int) -> list[int]:
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo += _children(pid)
    return pids


def _memory_kb(pid: int) -> tuple[int, int]:
    """Return (PSS, RSS) of one process in KB, zeros when it is gone."""
    pss = rss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return pss, rss


def main() -> None:
    out, stdout_file, stderr_file, sep, *command = sys.argv[1:]
    if sep != "--" or not command:
        sys.exit(__doc__)
    peak = {"pss": 0, "rss": 0, "procs": 0}
    done = threading.Event()
    with open(stdout_file, "wb") as so, open(stderr_file, "wb") as se:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=so, stderr=se)

        def sample() -> None:
            while not done.wait(0.02):
                pids = _tree(child.pid)
                sizes = [_memory_kb(p) for p in pids]
                peak["pss"] = max(peak["pss"], sum(s[0] for s in sizes))
                peak["rss"] = max(peak["rss"], sum(s[1] for s in sizes))
                peak["procs"] = max(peak["procs"], len(pids))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        rc = child.wait()
        wall = time.perf_counter() - started
        done.set()
        sampler.join()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    Path(out).write_text(json.dumps({
        "rc": rc, "wall": wall, "user": usage.ru_utime, "sys": usage.ru_stime,
        "cpu": usage.ru_utime + usage.ru_stime, "maxrss_mb": usage.ru_maxrss / 1024,
        "peak_pss_mb": peak["pss"] / 1024, "peak_rss_sum_mb": peak["rss"] / 1024,
        "procs": peak["procs"]}))


if __name__ == "__main__":
    main()
