"""Run the linuxreport CLI with its build stages timed: where a build's time goes.

    python bench/phases.py --config-dir ... --out ... --state ... build NAME

Wraps the stage functions build_report calls (fetch_all, curate, build_assets,
render_site, write_output) and StateStore.load/save, then prints to stderr one line per
stage, ``PHASE <name> wall <s> cpu <s> n=<calls>`` (CPU of this process only; parsing
runs in the worker processes, counted in ``PROCESS ... workers_cpu``). Stages that are
not there any more are skipped, so this keeps working while linuxreport changes.
"""

from __future__ import annotations

import functools
import resource
import sys
import time

import linuxreport.build as build
import linuxreport.state as state

try:
    import linuxreport.fetchpool as fetchpool
except ImportError:  # an older linuxreport
    fetchpool = None

TIMES: dict[str, list[float]] = {}


def _wrap(owner, name: str, label: str | None = None) -> None:
    func = getattr(owner, name, None)
    if func is None:
        return

    @functools.wraps(func)
    def timed(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return func(*args, **kwargs)
        finally:
            entry = TIMES.setdefault(label or name, [0.0, 0.0, 0])
            entry[0] += time.perf_counter() - wall
            entry[1] += time.process_time() - cpu
            entry[2] += 1

    setattr(owner, name, timed)


def main() -> None:
    for name in ("fetch_all", "curate", "build_assets", "reader_fingerprint", "render_site",
                 "write_output"):
        _wrap(build, name)
    store = getattr(state, "StateStore", None)
    if store is not None:
        for name in ("load_fetch_details", "load_all", "save_all", "save", "save_headlines"):
            _wrap(store, name)
    # From 24 feeds on, fetching runs in worker processes: the main process starts them,
    # loads state meanwhile, then waits for their results.
    pool = getattr(fetchpool, "FetchWorkers", None) if fetchpool else None
    if pool is not None:
        _wrap(pool, "__init__", "fetch_workers_start")
        _wrap(pool, "results", "fetch_workers_wait")
    from linuxreport.cli import main as cli_main

    sys.argv[0] = "linuxreport"
    try:
        cli_main()
    finally:
        for name, (wall, cpu, calls) in TIMES.items():
            print(f"PHASE {name} wall {wall:.3f} cpu {cpu:.3f} n={calls}", file=sys.stderr)
        me = resource.getrusage(resource.RUSAGE_SELF)
        workers = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(f"PROCESS main_cpu {me.ru_utime + me.ru_stime:.3f} workers_cpu "
              f"{workers.ru_utime + workers.ru_stime:.3f}", file=sys.stderr)


if __name__ == "__main__":
    main()
