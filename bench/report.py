"""Write BENCHMARKS.md and the PNG charts from the results bench/run.py collected."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

LATENCY_S = 0.1
TOOLS = ("linuxreport", "aws s3 sync", "s3cmd sync")
PHASE_NAMES = {"first": "first upload", "nochange": "no change, every file rewritten",
               "partial": "1 % of files changed"}
BUILD_NAMES = {"cold": "cold", "warm_304": "warm, every feed 304",
               "warm_same": "warm, same body resent", "partial_10": "10 % of feeds changed"}


def st(values) -> dict:
    values = [v for v in values if v is not None]
    if not values:
        return {"median": None, "min": None, "max": None, "runs": 0}
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": len(values)}


def fmt(s: dict, unit: str = " s", digits: int = 2) -> str:
    """'1.23 s (1.20–1.30, 3 runs)', or the single value for one run."""
    if s["median"] is None:
        return "n/a"
    text = f"{s['median']:,.{digits}f}{unit}"
    if s["runs"] > 1:
        text += f" ({s['min']:,.{digits}f}–{s['max']:,.{digits}f})"
    return text


def num(value, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def field(records: list[dict], key: str) -> dict:
    return st([r.get(key) for r in records])


def faster(ratio: float) -> str:
    """'2.10× faster', or '1.67× slower' when the ratio is under 1."""
    return f"{ratio:.2f}× faster" if ratio >= 1 else f"{1 / ratio:.2f}× slower"


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**missed**")


def floor_s(feeds: int, concurrency: int | None) -> float | None:
    return math.ceil(feeds / concurrency) * LATENCY_S if concurrency else None


# ------------------------------------------------------------------------------ targets

def targets(r: dict) -> list[tuple[str, str, str, str]]:
    """Rows: target, measured, ratio (measured against the target), verdict."""
    from run import TARGETS

    sc, rows = r["scenarios"], []
    cold = sc.get("cold_1000", [])
    if cold:
        wall = field(cold, "wall")["median"]
        rows.append(("Cold build, 1,000 feeds: ≤ 10 s wall", f"{wall:.2f} s",
                     f"{wall / TARGETS['cold_1000_wall']:.2f}× the limit",
                     verdict(wall <= TARGETS["cold_1000_wall"])))
        pss = field(cold, "peak_pss_mb")["median"]
        rss = field(cold, "maxrss_mb")["median"]
        rows.append(("Cold build, 1,000 feeds: ≤ 500 MB peak memory",
                     f"{pss:.0f} MB PSS of all processes ({rss:.0f} MB RSS of the largest)",
                     f"{pss / TARGETS['cold_1000_mem']:.2f}× the limit",
                     verdict(pss <= TARGETS["cold_1000_mem"])))
    growth = scaling(r)
    if growth:
        lo, hi, exponent = growth
        rows.append((f"Time grows no worse than linearly up to {hi:,} feeds",
                     f"wall ∝ feeds^{exponent:.2f} from {lo:,} to {hi:,}",
                     f"exponent {exponent:.2f} (1.00 is linear)", verdict(exponent <= 1.05)))
    else:
        rows.append(("Time grows no worse than linearly up to 5,000 feeds",
                     "5,000 feeds not run", "", "n/a"))
    for key, label, limit in (("warm_304", "Warm build, 1,000 feeds, all 304: ≤ 2 s",
                               TARGETS["warm_304"]),
                              ("warm_same", "Warm build, 1,000 feeds, same body resent: ≤ 3 s",
                               TARGETS["warm_same"])):
        if sc.get(key):
            wall = field(sc[key], "wall")["median"]
            rows.append((label, f"{wall:.2f} s", f"{wall / limit:.2f}× the limit",
                         verdict(wall <= limit)))
    pub = r.get("publish", {})
    if pub:
        def t(phase, tool):
            return field(pub[phase][tool], "wall")["median"]

        ours = t("nochange", "linuxreport")
        for tool, key in (("aws s3 sync", "nochange_vs_aws"), ("s3cmd sync", "nochange_vs_s3cmd")):
            ratio = t("nochange", tool) / ours
            rows.append((f"Publish, no change after rebuild: ≥ {TARGETS[key]:g}× faster than "
                         f"`{tool}`", f"{ours:.2f} s vs {t('nochange', tool):.2f} s",
                         faster(ratio), verdict(ratio >= TARGETS[key])))
        puts = max(x["puts"] for x in pub["nochange"]["linuxreport"])
        rows.append(("Publish, no change: zero PUTs", f"{puts} PUTs (most in any run)", "",
                     verdict(puts == 0)))
        ours = t("first", "linuxreport")
        ratio = t("first", "s3cmd sync") / ours
        rows.append(("Publish, first upload: ≥ 2× faster than `s3cmd sync`",
                     f"{ours:.2f} s vs {t('first', 's3cmd sync'):.2f} s", faster(ratio),
                     verdict(ratio >= TARGETS["first_vs_s3cmd"])))
        ratio = t("first", "aws s3 sync") / ours
        rows.append(("Publish, first upload: no slower than `aws s3 sync`",
                     f"{ours:.2f} s vs {t('first', 'aws s3 sync'):.2f} s",
                     faster(ratio), verdict(ratio >= TARGETS["first_vs_aws"])))
        exact = all(x.get("exact") for x in pub["partial"]["linuxreport"])
        changed = pub["partial"]["linuxreport"][0].get("changed")
        uploaded = sorted({x["content_puts"] for x in pub["partial"]["linuxreport"]})
        rows.append(("Publish, 1 % changed: exactly the changed files uploaded",
                     f"{changed} changed, {'/'.join(map(str, uploaded))} uploaded "
                     f"(+1 PUT of the publish index)", "", verdict(exact)))
    serve = r.get("serving", {}).get("c1")
    if serve:
        rps = st([x["rps"] for x in serve])["median"]
        need = FLASK_RPS() * TARGETS["serve_factor"]
        head = serve_headline(r["serving"])
        measured = f"{rps:,.0f} req/s ({head})"
        other = [(name, v) for name, v in serve_variants(r["serving"]).items()
                 if name != head and v.get("c1") and v.get("placement")]
        if other:
            measured += "; " + ", ".join(
                f"{name} {st([x['rps'] for x in v['c1']])['median']:,.0f}" for name, v in other)
        rows.append((f"Serving, 1 nginx worker, 1 connection: ≥ 50 × 350 = {need:,.0f} req/s",
                     measured, f"{rps / FLASK_RPS():.0f}× the Flask original",
                     verdict(rps >= need)))
    return rows


def serve_variants(serve: dict) -> dict:
    """The serving variants measured. Results from before variants existed hold one:
    identity (no Accept-Encoding), nginx and wrk left to the scheduler."""
    if serve.get("variants"):
        return serve["variants"]
    return {"identity, unpinned": {"encoding": "identity", "placement": None,
                                   **{k: serve[k] for k in ("c1", "c8") if serve.get(k)}}}


def serve_headline(serve: dict, key: str = "c1") -> str:
    return serve.get("headline", {}).get(key, "identity, unpinned")


def FLASK_RPS() -> int:  # noqa: N802
    from run import FLASK_RPS_PER_CORE
    return FLASK_RPS_PER_CORE


def scaling(r: dict) -> tuple[int, int, float] | None:
    sc = r["scenarios"]
    sizes = sorted(int(k.split("_")[1]) for k in sc if k.startswith("cold_"))
    if len(sizes) < 2 or sizes[-1] <= 1000:
        return None
    lo, hi = 1000, sizes[-1]
    a = field(sc[f"cold_{lo}"], "wall")["median"]
    b = field(sc[f"cold_{hi}"], "wall")["median"]
    return lo, hi, math.log(b / a) / math.log(hi / lo)


# ------------------------------------------------------------------------------- charts

def _errors(s: list[dict]) -> list[list[float]]:
    """matplotlib's yerr: distances from each median down to the min and up to the max."""
    return [[x["median"] - x["min"] for x in s], [x["max"] - x["median"] for x in s]]


def charts(r: dict, out: Path) -> list[str]:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    out.mkdir(parents=True, exist_ok=True)
    made = []
    sc = r["scenarios"]
    conc = r["config"].get("concurrency")

    sizes = sorted(int(k.split("_")[1]) for k in sc if k.startswith("cold_"))
    if sizes:
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
        for key, label, color in (("wall", "wall time", "tab:blue"),
                                  ("cpu", "CPU time (all processes)", "tab:orange")):
            s = [field(sc[f"cold_{n}"], key) for n in sizes]
            med = [x["median"] for x in s]
            err = _errors(s)
            ax.errorbar(sizes, med, yerr=err, marker="o", capsize=4, label=label, color=color)
        if conc:
            ax.plot(sizes, [floor_s(n, conc) for n in sizes], "k:",
                    label=f"network floor ({conc} at a time × 100 ms)")
        base = field(sc[f"cold_{sizes[0]}"], "wall")["median"] if sizes else None
        if 1000 in sizes:
            base1000 = field(sc["cold_1000"], "wall")["median"]
            ax.plot(sizes, [base1000 * n / 1000 for n in sizes], "--", color="gray",
                    label="linear from 1,000 feeds")
        ax.plot([1000], [10], marker="*", markersize=14, color="tab:red", linestyle="none",
                label="target: 10 s at 1,000 feeds")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("feeds")
        ax.set_ylabel("seconds")
        ax.set_title("Cold build")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        del base
        s = [field(sc[f"cold_{n}"], "peak_pss_mb") for n in sizes]
        ax2.plot(sizes, [x["median"] for x in s], marker="o", label="peak PSS, all processes")
        s = [field(sc[f"cold_{n}"], "maxrss_mb") for n in sizes]
        ax2.plot(sizes, [x["median"] for x in s], marker="s", label="peak RSS, largest process")
        ax2.plot([1000], [500], marker="*", markersize=14, color="tab:red", linestyle="none",
                 label="target: 500 MB at 1,000 feeds")
        if 1000 in sizes and len(sizes) > 1:
            base = field(sc["cold_1000"], "peak_pss_mb")["median"]
            ax2.plot(sizes, [base * n / 1000 for n in sizes], "--", color="gray",
                     label="linear from 1,000 feeds")
        ax2.set_xscale("log")
        ax2.set_yscale("log")
        ax2.set_xlabel("feeds")
        ax2.set_ylabel("MB")
        ax2.set_title("Cold build memory")
        ax2.grid(True, which="both", alpha=0.3)
        ax2.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "build-scaling.png", dpi=110)
        plt.close(fig)
        made.append("build-scaling.png")

    keys = [k for k in ("cold_1000", "warm_304", "warm_same", "partial_10") if sc.get(k)]
    if keys:
        fig, ax = plt.subplots(figsize=(8, 4))
        labels = [BUILD_NAMES[k.replace("_1000", "")] for k in keys]
        s = [field(sc[k], "wall") for k in keys]
        med = [x["median"] for x in s]
        err = _errors(s)
        bars = ax.bar(labels, med, yerr=err, capsize=4, color="tab:blue")
        for bar, value in zip(bars, med, strict=True):
            ax.annotate(f"{value:.1f} s", (bar.get_x() + bar.get_width() / 2, value),
                        ha="center", va="bottom", fontsize=9, xytext=(0, 7),
                        textcoords="offset points")
        for i, k in enumerate(keys):
            limit = {"cold_1000": 10, "warm_304": 2, "warm_same": 3}.get(k)
            if limit:
                ax.plot([i - 0.4, i + 0.4], [limit, limit], color="tab:red", linewidth=2)
        if conc:
            ax.axhline(floor_s(1000, conc), color="k", linestyle=":",
                       label=f"network floor: 1,000 / {conc} × 100 ms")
        ax.plot([], [], color="tab:red", linewidth=2, label="target")
        ax.set_ylabel("seconds (wall)")
        ax.set_title("Builds of 1,000 feeds")
        ax.legend(fontsize=8)
        ax.grid(True, axis="y", alpha=0.3)
        fig.tight_layout()
        fig.savefig(out / "builds-1000.png", dpi=110)
        plt.close(fig)
        made.append("builds-1000.png")

    pub = r.get("publish")
    if pub:
        fig, ax = plt.subplots(figsize=(9, 4.2))
        phases = [p for p in ("first", "nochange", "partial") if p in pub]
        width = 0.26
        for j, tool in enumerate(TOOLS):
            s = [field(pub[p][tool], "wall") for p in phases]
            med = [x["median"] for x in s]
            err = _errors(s)
            xs = [i + (j - 1) * width for i in range(len(phases))]
            bars = ax.bar(xs, med, width, yerr=err, capsize=3, label=tool)
            for bar, p in zip(bars, phases, strict=True):
                puts = st([x["puts"] for x in pub[p][tool]])["median"]
                ax.annotate(f"{puts:.0f} PUT", (bar.get_x() + bar.get_width() / 2,
                                                bar.get_height()), ha="center", va="bottom",
                            fontsize=7, xytext=(0, 2), textcoords="offset points")
        ax.set_xticks(range(len(phases)), [PHASE_NAMES[p] for p in phases])
        ax.set_ylabel("seconds (wall)")
        ax.set_title(f"Publish a {r.get('site_tree', {}).get('files', 2000):,}-file site "
                     "to S3 (moto)")
        ax.legend()
        ax.grid(True, axis="y", alpha=0.3)
        fig.tight_layout()
        fig.savefig(out / "publish.png", dpi=110)
        plt.close(fig)
        made.append("publish.png")

    serve = r.get("serving")
    if serve:
        fig, ax = plt.subplots(figsize=(7, 3.8))
        labels, values = ["Flask\noriginal\n(per core)"], [FLASK_RPS()]
        colors = ["gray"]
        for name, variant in serve_variants(serve).items():
            for key in ("c1", "c8"):
                if variant.get(key):
                    labels.append(name.replace(", ", "\n") + f"\n{key[1:]} conn.")
                    values.append(st([x["rps"] for x in variant[key]])["median"])
                    colors.append("tab:green" if key == "c1" else "tab:olive")
        fig.set_size_inches(max(7.0, 1.05 * len(labels)), 4.2)
        bars = ax.bar(labels, values, color=colors)
        ax.tick_params(axis="x", labelsize=7)
        for bar, value in zip(bars, values, strict=True):
            ax.annotate(f"{value:,.0f}", (bar.get_x() + bar.get_width() / 2, value),
                        ha="center", va="bottom", fontsize=9)
        ax.axhline(50 * FLASK_RPS(), color="tab:red", linestyle="--",
                   label="target: 50 × 350 req/s")
        ax.set_yscale("log")
        ax.set_ylabel("requests/s (front page)")
        ax.set_title("Serving the demo front page")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "serving.png", dpi=110)
        plt.close(fig)
        made.append("serving.png")
    return made


# ------------------------------------------------------------------------------ report

def write_report(r: dict, path: Path, chart_dir: Path) -> None:
    made = charts(r, chart_dir)
    rel = chart_dir.relative_to(path.parent) if chart_dir.is_relative_to(path.parent) \
        else chart_dir
    m = r["machine"]
    c = r["config"]
    sc = r["scenarios"]
    conc, per_host = c.get("concurrency"), c.get("per_host")
    lines: list[str] = []
    add = lines.append
    add("# Benchmarks")
    add("")
    add(f"Written by `make bench` (`bench/run.py`) on {r['started'][:10]}, in "
        f"{r['duration']:.0f} s. Every figure is the median of the runs shown, with the "
        "minimum and maximum in brackets; nothing here is asserted by a test. Everything "
        "ran on this one machine, against servers on 127.0.0.1: a synthetic feed server, "
        "moto for S3, nginx. Rerun with `make bench`; the 5,000-feed build rarely fits its "
        "ten minutes, so `.venv/bin/python bench/run.py --only scale` adds it to the last "
        "results (or `make bench BENCH_ARGS=--scale=always` runs everything in one go).")
    if c.get("quick"):
        add("")
        add("**Quick run: one run of each scenario; do not quote these numbers.**")
    load = m.get("loadavg_start") or [0, 0, 0]
    add("")
    add("## Machine and versions")
    add("")
    add("| | |")
    add("|---|---|")
    add(f"| CPU | {m['cpu']}, {m['cores']} cores |")
    add(f"| memory | {m['memory_gb']} GB |")
    add(f"| OS | {m['os']}, Linux {m['kernel']}, Python {m['python']} |")
    add(f"| load average at start | {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} "
        "(1 / 5 / 15 min; above 0 means other work shared the cores) |")
    cal = r.get("calibration", {})
    if cal.get("start"):
        add(f"| CPU speed check | a fixed Python loop took {cal['start']:.2f} s at the start "
            f"and {cal.get('end', 0):.2f} s at the end (lower is faster; on a shared virtual "
            "machine this moves with the neighbours, and every figure below with it) |")
    share = r.get("cpu_share")
    if share:
        add(f"| CPU time stolen by the hypervisor during the run | {share['steal']:.1%} |")
    for name, version in m["versions"].items():
        add(f"| {name} | {version} |")
    add("")
    add("## Targets")
    add("")
    add("| target | measured (median) | ratio | |")
    add("|---|---|---|---|")
    for row in targets(r):
        add("| " + " | ".join(row) + " |")
    add("")

    # ---- builds
    add("## 1. Cold build")
    add("")
    pc = r.get("parse_ms", {})
    add(f"Synthetic feeds from `bench/feeds.py`: 30 entries and {pc.get('bytes', 35000):,} bytes "
        "each, three in five RSS 2.0 and two in five Atom 1.0, every response (200 or 304) "
        f"held back {c['latency_ms']:.0f} ms. The feeds are spread over {c['feed_hosts']} "
        "loopback addresses (127.0.2.x) so that the per-host limit acts as with distinct "
        f"servers. The generated config uses linuxreport's fetch defaults: concurrency "
        f"{conc}, per_host {per_host}. Each cold run starts with no state and no output. "
        "Memory is the peak PSS of the whole process tree (main process and parser workers, "
        "shared pages counted once) and the peak RSS of the largest single process "
        "(`ru_maxrss`).")
    add("")
    add("| feeds | wall | CPU (all processes) | peak PSS (tree) | peak RSS (largest) | "
        "network floor | wall per feed | CPU per feed |")
    add("|---:|---|---|---|---|---|---|---|")
    sizes = sorted(int(k.split("_")[1]) for k in sc if k.startswith("cold_"))
    for n in sizes:
        recs = sc[f"cold_{n}"]
        wall, cpu = field(recs, "wall"), field(recs, "cpu")
        fl = floor_s(n, conc)
        add(f"| {n:,} | {fmt(wall)} | {fmt(cpu)} | {fmt(field(recs, 'peak_pss_mb'), ' MB', 0)}"
            f" | {fmt(field(recs, 'maxrss_mb'), ' MB', 0)} | "
            f"{num(fl, 1)} s | {wall['median'] / n * 1000:.1f} ms | "
            f"{cpu['median'] / n * 1000:.1f} ms |")
    growth = scaling(r)
    if growth:
        add("")
        add(f"Growth from {growth[0]:,} to {growth[1]:,} feeds: wall time ∝ "
            f"feeds^{growth[2]:.2f}.")
    failures = [(k, x["failures"]) for k, v in sc.items() for x in v if x.get("failures")]
    if failures:
        add("")
        add("Feeds failed in some builds: " + ", ".join(f"{k}: {n}" for k, n in failures) + ".")
    if "build-scaling.png" in made:
        add("")
        add(f"![Cold build time and memory against feed count]({rel}/build-scaling.png)")
    made_runs = r.get("runs_made", {})
    if made_runs:
        add("")
        add("Runs made: " + ", ".join(f"{k} {v}" for k, v in made_runs.items()) + ".")
    for note in r.get("notes", []):
        add("")
        add(f"Note: {note}.")
    add("")
    add("## 2–3. Warm builds and partial change (1,000 feeds)")
    add("")
    add("Each run: a cold build, then a build where every feed answers 304, then one where "
        "the server ignores the validators and resends the same body (same ETag), then one "
        "where 10 % of the feeds have 5 new entries (the others answer 304).")
    add("")
    add("| build | wall | CPU | peak PSS | requests: 200 / 304 | target |")
    add("|---|---|---|---|---|---|")
    limits = {"cold_1000": "≤ 10 s", "warm_304": "≤ 2 s", "warm_same": "≤ 3 s"}
    for key in ("cold_1000", "warm_304", "warm_same", "partial_10"):
        recs = sc.get(key)
        if not recs:
            continue
        add(f"| {BUILD_NAMES[key.replace('_1000', '')]} | {fmt(field(recs, 'wall'))} | "
            f"{fmt(field(recs, 'cpu'))} | {fmt(field(recs, 'peak_pss_mb'), ' MB', 0)} | "
            f"{field(recs, 'server_200')['median']:.0f} / "
            f"{field(recs, 'server_304')['median']:.0f} | {limits.get(key, '')} |")
    if "builds-1000.png" in made:
        add("")
        add(f"![Builds of 1,000 feeds]({rel}/builds-1000.png)")

    bd = r.get("breakdown")
    if bd:
        add("")
        add("### Where a build's time goes")
        add("")
        add("Run 1 of the 1,000-feed builds went through `bench/phases.py`: the same "
            "`linuxreport.cli.main` with timers around the stages `build_report` calls "
            "(microseconds of overhead). CPU is the main process's. From 24 feeds on, "
            "fetching and parsing run in one worker process per core (their CPU is the last "
            "row); the main process starts them, loads the feeds' last good entries meanwhile, "
            "then takes each result as it comes (working out the feed's new state) until "
            "the last one is in.")
        add("")
        order = ["fetch_all", "load_fetch_details", "fetch_workers_start", "load_all", "load",
                 "fetch_workers_wait", "curate", "build_assets", "reader_fingerprint",
                 "render_site", "write_output", "save_all", "save", "save_headlines"]
        labels = {"fetch_all": "fetch and parse (in the main process)",
                  "load_fetch_details": "state: read validators (fetch.json)",
                  "fetch_workers_start": "start the fetch workers",
                  "load_all": "state: load entries (while the workers fetch)",
                  "load": "state: load", "fetch_workers_wait":
                  "wait for the workers' results (new feed states meanwhile)",
                  "curate": "curate", "build_assets": "assets",
                  "reader_fingerprint": "fingerprint of the reader pages' inputs",
                  "render_site": "render (reader pages only when their inputs changed)",
                  "write_output": "write output", "save_all": "state: save",
                  "save": "state: save, per feed", "save_headlines": "headline history: save"}
        cols = [k for k in ("cold", "warm_304", "warm_same", "partial_10") if k in bd]
        add("| stage | " + " | ".join(f"{BUILD_NAMES[k]}: wall / CPU" for k in cols) + " |")
        add("|---|" + "---|" * len(cols))
        for stage in order:
            if not any(stage in bd[k].get("phases", {}) for k in cols):
                continue
            cells = []
            for k in cols:
                p = bd[k].get("phases", {}).get(stage)
                cells.append(f"{p['wall']:.2f} / {p['cpu']:.2f} s" if p else "")
            add(f"| {labels.get(stage, stage)} | " + " | ".join(cells) + " |")
        add("| whole run (measured outside) | " + " | ".join(
            f"{bd[k]['wall']:.2f} / {bd[k]['cpu']:.2f} s" for k in cols) + " |")
        add("| main process CPU / worker processes' CPU | " + " | ".join(
            f"{bd[k].get('phases', {}).get('_main_cpu', 0):.2f} / "
            f"{bd[k].get('phases', {}).get('_workers_cpu', 0):.2f} s" for k in cols) + " |")
    if pc:
        add("")
        text = (f"Parsing one of these feeds with `linuxreport.parse.parse_feed` costs "
                f"{pc.get('rss', 0):.1f} ms of CPU for RSS 2.0 and {pc.get('atom', 0):.1f} ms "
                "for Atom (its standard-library fast path), measured in one process")
        if pc.get("rss_feedparser"):
            text += (f"; through feedparser, which reads everything the fast path does not, "
                     f"{pc['rss_feedparser']:.1f} and {pc.get('atom_feedparser', 0):.1f} ms")
        per = 0.6 * pc.get("rss", 0) + 0.4 * pc.get("atom", 0)
        add(text + f". For 1,000 feeds parsing is about {per:.1f} s of CPU, "
            f"{per / m['cores']:.1f} s of wall time at best on {m['cores']} cores.")
    sweep = r.get("sweep")
    if sweep:
        add("")
        add("Warm (all 304) builds of 1,000 feeds by `fetch.concurrency`: the network floor is "
            "1,000 / concurrency × 100 ms.")
        add("")
        add("| concurrency | wall | CPU | network floor |")
        add("|---:|---|---|---|")
        for k, rec in sorted(sweep.items(), key=lambda kv: int(kv[0])):
            add(f"| {k} | {rec['wall']:.2f} s | {rec['cpu']:.2f} s | "
                f"{floor_s(1000, int(k)):.2f} s |")

    # ---- publish
    pub = r.get("publish")
    if pub:
        tree = r.get("site_tree", {})
        add("")
        add("## 4. Publish")
        add("")
        kinds = ", ".join(f"{v['files']} {k} (median {v['median'] / 1024:.0f} KB)"
                          for k, v in sorted(tree.get("by_type", {}).items(),
                                             key=lambda kv: -kv[1]["files"]))
        add(f"A {tree.get('files', 0):,}-file site tree of {tree.get('bytes', 0) / 1e6:.0f} MB: "
            f"{kinds}. Every tool syncs the same tree into its own bucket on one moto server "
            f"(moto {r.get('moto_version', '')}): `linuxreport publish` (MD5s from the build "
            "manifest against its index and the ETags), `aws s3 sync` (size and modification "
            "time) and `s3cmd sync` (size and MD5). PUTs and requests are counted from moto's "
            "request log. Each run: all buckets new; first upload; every file rewritten with the "
            "same bytes (as a rebuild does) and synced again; 1 % of the files changed (half "
            "of them keeping their size) and synced again. The order of the tools rotates "
            "from run to run.")
        add("")
        add("| scenario | tool | wall | CPU (tool) | CPU (moto) | PUTs | all requests |")
        add("|---|---|---|---|---|---|---|")
        for phase in ("first", "nochange", "partial"):
            for tool in TOOLS:
                recs = pub.get(phase, {}).get(tool)
                if not recs:
                    continue
                puts = st([x["puts"] for x in recs])
                reqs = st([x["requests"] for x in recs])
                add(f"| {PHASE_NAMES[phase]} | `{tool}` | {fmt(field(recs, 'wall'))} | "
                    f"{fmt(field(recs, 'cpu'))} | {fmt(field(recs, 'server_cpu'))} | "
                    f"{fmt(puts, '', 0)} | {fmt(reqs, '', 0)} |")
        add("")
        add("linuxreport's PUT count includes one PUT of its publish index "
            "(`.linuxreport/published.json`) whenever something was uploaded.")
        for phase in ("partial",):
            for tool in TOOLS:
                recs = pub.get(phase, {}).get(tool, [])
                if recs and tool != "linuxreport":
                    exact = all(x.get("exact") for x in recs)
                    add(f"`{tool}` uploaded exactly the changed files: "
                        f"{'yes' if exact else 'no'}.")
        if "publish.png" in made:
            add("")
            add(f"![Publish time by tool]({rel}/publish.png)")

    # ---- serving
    serve = r.get("serving")
    if serve:
        add("")
        add("## 5. Serving")
        add("")
        pre = serve.get("precompressed")
        size = serve.get("bytes", {})
        text = (f"nginx {m['versions'].get('nginx', '')}, one worker process, serves the built "
                "demo from disk: sendfile, tcp_nopush, tcp_nodelay, open_file_cache, no access "
                "log, keepalive_requests 1,000,000 (so wrk's connections are never closed)")
        if pre:
            text += (", and gzip_static. The build writes no `.gz` files: the benchmark writes "
                     f"a `.gz` sibling of each of the {pre['files']} text files of its served "
                     "copy (level 9, mtime 0: the bytes `publish.gzip: true` stores), so the "
                     f"front page is {size.get('gzip', 0):,} B gzipped instead of "
                     f"{size.get('identity', 0):,} B.")
        else:
            text += "."
        add(text + f" wrk {m['versions'].get('wrk', '')} asks for the front page for "
            f"{c['wrk_seconds']} s per run, with 1 connection (1 thread) and 8 connections "
            "(2 threads). *gzip* sends `Accept-Encoding: gzip`, as every browser does: the "
            "realistic case. *identity* sends no Accept-Encoding and gets the raw page. "
            f"*same CPU*: the nginx worker and wrk both pinned to CPU "
            f"{serve.get('cpus', {}).get('worker', '?')} (sched_setaffinity, taskset); "
            "*separate CPUs*: wrk pinned to CPU "
            f"{serve.get('cpus', {}).get('wrk_separate', '?')} instead. CPU per request: "
            "the nginx worker's (from /proc), wrk's "
            "(its rusage) and the kernel's interrupt and softirq time, where loopback TCP "
            "mostly lands (from /proc/stat). *Other load* is the CPU anything else on the "
            "machine used during the run: a run with seconds of it was disturbed.")
        add("")
        add("| request | placement | connections | requests/s | mean latency | p99 latency | "
            "nginx worker CPU per request | wrk CPU per request | softirq per request | "
            "other load | vs Flask's 350/s per core |")
        add("|---|---|---|---|---|---|---|---|---|---|---|")
        for name, variant in serve_variants(serve).items():
            encoding, _, place = name.partition(", ")
            for key in ("c1", "c8"):
                recs = variant.get(key)
                if not recs:
                    continue
                rps = field(recs, "rps")
                per = [1e6 / x["per_cpu_second"] if x.get("per_cpu_second") else None
                       for x in recs]
                wrk = field(recs, "wrk_us")
                irq = field(recs, "irq_us")
                other = field(recs, "other_cpu")
                add(f"| {encoding} | {place} | {key[1:]} | {fmt(rps, '', 0)} | "
                    f"{fmt(field(recs, 'latency_ms'), ' ms', 3)} | "
                    f"{fmt(field(recs, 'p99_ms'), ' ms', 3)} | {fmt(st(per), ' µs', 1)} | "
                    f"{fmt(wrk, ' µs', 1)} | {fmt(irq, ' µs', 1)} | "
                    f"{fmt(other, ' s', 1)} | {rps['median'] / FLASK_RPS():,.0f}× |")
        if "serving.png" in made:
            add("")
            add(f"![Serving]({rel}/serving.png)")

    # ---- weight
    weight = r.get("weight")
    if weight:
        add("")
        add("## 6. Page weight")
        add("")
        add("Front page HTML, raw and gzipped (level 6, nginx's default; level 9 in brackets), "
            "and the requests a first visit makes: the page and the same-origin files it "
            "references (stylesheet, scripts, icon, manifest, images), counted from the HTML; "
            "the whole weight adds those files, gzipped where text.")
        add("")
        add("| page | HTML raw | HTML gzipped | requests | page + subresources raw | gzipped |")
        add("|---|---|---|---|---|---|")
        for label, w in weight.items():
            add(f"| {label} | {w['html_raw']:,} B | {w['html_gzip']:,} B ({w['html_gzip9']:,})"
                f" | {w['requests']} | {w['total_raw']:,} B | {w['total_gzip']:,} B |")
        browser = weight.get("demo front page", {}).get("browser")
        if browser and "requests" in browser:
            add("")
            add(f"Headless Chromium loading the demo front page from nginx made "
                f"{browser['requests']} requests "
                f"({', '.join(u or 'the page' for u in browser['urls'])}), "
                f"{browser['transfer_bytes']:,} bytes transferred in all.")
    add("")
    add("## What limits each stage")
    add("")
    for para in limits_text(r):
        add(f"- {para}")
    add("")
    path.write_text("\n".join(lines))


def limits_text(r: dict) -> list[str]:
    sc, c, m = r["scenarios"], r["config"], r["machine"]
    conc, cores = c.get("concurrency"), m["cores"]
    out = []
    if sc.get("cold_1000"):
        wall = field(sc["cold_1000"], "wall")["median"]
        cpu = field(sc["cold_1000"], "cpu")["median"]
        fl = floor_s(1000, conc)
        server = field(sc["cold_1000"], "server_cpu")["median"]
        bound = "CPU" if cpu / cores > (fl or 0) else "network latency"
        out.append(
            f"**Cold build**: {wall:.1f} s for 1,000 feeds. The network floor is {fl:.1f} s "
            f"({conc} requests at a time, 100 ms each); the build used {cpu:.1f} s of CPU, at "
            f"least {cpu / cores:.1f} s on {cores} cores, and the feed server another "
            f"{server:.1f} s. So the build is **{bound}-bound**, {wall / fl:.1f}× the network "
            f"floor.")
    bd = r.get("breakdown", {})
    if bd.get("cold"):
        p = bd["cold"].get("phases", {})
        main = p.get("_main_cpu", 0)
        workers = p.get("_workers_cpu", 0)
        serial = sum(p.get(k, {}).get("wall", 0) for k in
                     ("curate", "build_assets", "reader_fingerprint", "render_site",
                      "write_output", "save_all", "save_headlines"))
        text = (f"In the instrumented cold build the worker processes used {workers:.1f} s of "
                f"CPU ({workers:.1f} ms per feed: HTTP client, hashing and parsing) and the "
                f"main process {main:.1f} s; after the last result came in, the main process "
                f"alone needed {serial:.1f} s (curate, render, write, save), which the other "
                "core cannot share.")
        pc = r.get("parse_ms", {})
        if pc.get("rss"):
            per = 0.6 * pc["rss"] + 0.4 * pc["atom"]
            slow = 0.6 * pc.get("rss_feedparser", 0) + 0.4 * pc.get("atom_feedparser", 0)
            text += f" Parsing is {per:.1f} ms of that per feed (the fast path"
            text += f"; through feedparser it would be {slow:.0f} ms)" if slow else ")"
            text += (", the rest mostly the HTTP client (httpx), about 2 to 3 ms of CPU per "
                     "request.")
        out.append(text)
    for key, label, limit in (("warm_304", "Warm build (304)", 2.0),
                              ("warm_same", "Warm build (same body)", 3.0)):
        if sc.get(key):
            wall = field(sc[key], "wall")["median"]
            cpu = field(sc[key], "cpu")["median"]
            fl = floor_s(1000, conc)
            main_cpu = bd.get(key, {}).get("phases", {}).get("_main_cpu")
            text = (f"**{label}**: {wall:.1f} s, {cpu:.1f} s of CPU; network floor {fl:.1f} s "
                    f"at concurrency {conc}.")
            workers_cpu = bd.get(key, {}).get("phases", {}).get("_workers_cpu")
            if main_cpu is not None and workers_cpu is not None:
                text += (f" The main process used {main_cpu:.1f} s of CPU and the fetch "
                         f"workers {workers_cpu:.1f} s ({workers_cpu:.1f} ms per request, "
                         "almost all of it in the HTTP client); with the feed server on the "
                         f"same {cores} cores the build is **CPU-bound**, "
                         f"{wall / fl:.1f}× the network floor.")
            if fl and fl > limit:
                text += (f" The target of {limit:g} s is below that floor: it needs "
                         f"`fetch.concurrency` of at least {math.ceil(1000 * 0.1 / limit)}.")
            elif wall > limit:
                text += (f" The target of {limit:g} s is missed by {wall - limit:.1f} s: the "
                         f"build's processes need {cpu:.1f} s of CPU, {cpu / cores:.1f} s on "
                         f"{cores} cores even if perfectly spread, before the start-up "
                         "(Python and imports, about 0.4 s) and the stages only the main "
                         "process can do after the last result; meeting it would take about "
                         "half the HTTP client's CPU per request.")
            p = bd.get(key, {}).get("phases", {})
            if p:
                parts = sorted(((k, v["wall"]) for k, v in p.items() if not k.startswith("_")),
                               key=lambda kv: -kv[1])
                text += " Stages by wall time: " + ", ".join(
                    f"{k} {v:.2f} s" for k, v in parts[:4]) + "."
            out.append(text)
    pub = r.get("publish")
    if pub:
        first = {t: pub["first"][t] for t in TOOLS}
        ours = field(first["linuxreport"], "wall")["median"]
        puts = st([x["puts"] for x in first["linuxreport"]])["median"]
        moto_ms = st([x["server_cpu"] / max(x["puts"], 1) * 1000 for recs in first.values()
                      for x in recs])["median"]
        floor = puts * moto_ms / 1000
        s3cmd = field(first["s3cmd sync"], "wall")["median"]
        out.append(
            f"**Publish, first upload**: {puts:.0f} PUTs in {ours:.1f} s "
            f"({puts / ours:.0f} PUTs/s). moto, a single Python process, spends about "
            f"{moto_ms:.1f} ms of CPU on each PUT, so {puts:.0f} PUTs cost it {floor:.1f} s "
            f"whatever the client does: the parallel tools (ours with 16 threads, aws with 10) "
            f"are **bound by the S3 server**, {ours / floor:.2f}× that floor. `s3cmd` uploads "
            f"one file at a time ({s3cmd:.1f} s). Against moto on {cores} cores the best "
            f"possible ratio to s3cmd is therefore about {s3cmd / floor:.1f}×; against a "
            "real S3 endpoint, where each PUT waits tens of milliseconds on the network, "
            "16 parallel uploads gain far more over one at a time.")
        noch = field(pub["nochange"]["linuxreport"], "wall")["median"]
        noch_cpu = field(pub["nochange"]["linuxreport"], "cpu")["median"]
        out.append(
            f"**Publish, no change**: {noch:.2f} s ({noch_cpu:.2f} s CPU) for the listing "
            "(1,000 keys a page) and one GET of the index (read while the listing runs), no "
            "PUT. About 0.45 s of it is start-up (Python, botocore's import and its S3 client) "
            "and moto spends about 0.3 ms per key building the listing, 0.6 s for 2,000 keys, "
            "so about 1.0 s is the floor for any Python client on this machine.")
    big = r.get("weight", {}).get("1,000-feed front page")
    if big and bd.get("warm_304", {}).get("phases", {}).get("render_site"):
        render = bd["warm_304"]["phases"]["render_site"]["wall"]
        out.append(f"**Render**: {render:.2f} s in a warm build of 1,000 feeds, whose front page "
                   f"is {big['html_raw'] / 1e6:.1f} MB of HTML ({big['html_gzip'] / 1e6:.1f} MB "
                   "gzipped).")
    if r.get("serving", {}).get("c1"):
        out.append(serving_limits(r["serving"]))
    return out


def serving_limits(serve: dict) -> str:
    """What sets the one-connection figure: the round trip, and who spends it."""
    head = serve_headline(serve)
    variants = serve_variants(serve)

    def med(name: str, key: str, what: str) -> float | None:
        recs = variants.get(name, {}).get(key) or []
        return st([x.get(what) for x in recs])["median"]

    rps = med(head, "c1", "rps")
    per = med(head, "c1", "per_cpu_second")
    wrk, irq = med(head, "c1", "wrk_us"), med(head, "c1", "irq_us")
    need = 50 * FLASK_RPS()
    text = (f"**Serving** ({head}): with one connection wrk sends the next request only when "
            f"the previous response has arrived, so {rps:,.0f} req/s is one loopback round "
            f"trip every {1e6 / rps:.0f} µs")
    if per:
        text += (f"; the nginx worker's own CPU is {1e6 / per:.0f} µs of it ({per:,.0f} "
                 f"requests per CPU-second, {per / FLASK_RPS():.0f}× Flask's 350 per core)")
    if wrk is not None and irq is not None and per:
        spent = 1e6 / per + wrk + irq
        where = ("nginx and wrk share one CPU and take turns, so the round trip is their CPU "
                 "time plus the kernel's (the sampled per-process figures, counted in 10 ms "
                 "ticks, overlap a little)"
                 if variants.get(head, {}).get("placement") == "same"
                 else "the rest is waiting on wake-ups")
        text += (f", wrk's {wrk:.0f} µs and the kernel's softirq {irq:.0f} µs: {spent:.0f} µs "
                 f"of CPU in all; {where}")
    text += (f". {need:,} req/s needs a round trip of {1e6 / need:.0f} µs or less, which "
             + ("this one meets" if rps >= need else
                f"is {1e6 / rps - 1e6 / need:.0f} µs shorter than measured") + ".")
    for name in variants:
        if name == head or not med(name, "c1", "rps"):
            continue
        other_rps, other_per = med(name, "c1", "rps"), med(name, "c1", "per_cpu_second")
        text += f" {name[0].upper() + name[1:]}: {other_rps:,.0f} req/s"
        if other_per:
            text += f" ({1e6 / other_per:.0f} µs of worker CPU per request)"
        text += "."
    same = [n for n, v in variants.items() if v.get("placement") == "same" and v.get("c1")]
    apart = [n for n, v in variants.items() if v.get("placement") == "separate" and v.get("c1")]
    if same and apart:
        text += (" On separate CPUs each request wakes a process on the other, idle vCPU (an "
                 "inter-processor interrupt and a wake from idle, which a virtual machine pays "
                 "for with exits to the hypervisor), twice per round trip, and that time shows "
                 "up as the worker's and the kernel's CPU; on one CPU the hand-over is a plain "
                 "context switch.")
    head8 = serve_headline(serve, "c8")
    c8 = med(head8, "c8", "rps")
    if c8:
        text += (f" With 8 connections ({head8}) both CPUs work at once and the worker always "
                 f"has a request waiting: {c8:,.0f} req/s.")
    return text + " No Python is on the request path; nothing in linuxreport changes this figure."
