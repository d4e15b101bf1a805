"""make bench: build, publish and serve linuxreport on 127.0.0.1, next to what users would
otherwise run, and write BENCHMARKS.md with charts under bench/charts/.

Everything runs on this machine: a synthetic feed server (bench/feeds.py, 100 ms per
response), a moto S3 server, nginx and wrk. linuxreport always runs as a subprocess
(.venv/bin/linuxreport), measured by bench/measure.py: wall time, CPU time of the whole
process tree, peak RSS of the largest process and peak PSS of the tree.

    .venv/bin/python bench/run.py                 # what `make bench` runs (under 10 minutes)
    .venv/bin/python bench/run.py --scale always  # also 5,000 feeds, whatever the budget
    .venv/bin/python bench/run.py --quick         # one run of each, for development
    .venv/bin/python bench/run.py --report-only   # rewrite BENCHMARKS.md from results.json

Timings are medians of several runs with min and max; nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html.parser
import json
import math
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
CHARTS = BENCH / "charts"
RESULTS = BENCH / "results.json"
REPORT = ROOT / "BENCHMARKS.md"
BIN = Path(sys.executable).parent
LINUXREPORT = BIN / "linuxreport"
MOTO = BIN / "moto_server"
AWS2 = Path("/usr/bin/aws")  # Debian's awscli v2; `aws` on PATH may be a pip awscli v1
LATENCY = 0.1
FEED_HOSTS = 64
WARM_FEEDS = 1000
# Each feed count uses its own range of feed numbers, so that resetting the feeds of one
# scenario leaves the others' state valid (the concurrency sweep reuses the 1,000 feeds').
FEED_BASE = {100: 100_000, WARM_FEEDS: 0, 5000: 200_000}
SITE_FILES = 2000
CHANGED_SHARE = 0.01
FLASK_RPS_PER_CORE = 350
# Serving: (name, Accept-Encoding sent, placement, connections). Placement "same": the nginx
# worker and wrk pinned to one CPU; "separate": each pinned to its own. Browsers always send
# Accept-Encoding and the served copy has the .gz siblings publish.gzip would store, so gzip
# is the realistic request; identity is the raw 35 KB page. On this VM waking a process on
# an idle other CPU costs more than the request itself, so one connection (one request at a
# time) is fastest on one CPU, and 8 connections (work for both CPUs) on separate ones.
SERVE_VARIANTS = (
    ("gzip, same CPU", "gzip", "same", (1,)),
    ("identity, same CPU", "identity", "same", (1,)),
    ("gzip, separate CPUs", "gzip", "separate", (1, 8)),
    ("identity, separate CPUs", "identity", "separate", (1, 8)),
)
SERVE_HEADLINE = {"c1": "gzip, same CPU", "c8": "gzip, separate CPUs"}  # the target row's
RESERVE = 25.0  # seconds kept for the page weight, the report and the charts
sys.path.insert(0, str(BENCH))

import feeds as feedserver  # noqa: E402  (bench/feeds.py)

TARGETS = {
    "cold_1000_wall": 10.0, "cold_1000_mem": 500.0, "warm_304": 2.0, "warm_same": 3.0,
    "nochange_vs_aws": 3.0, "nochange_vs_s3cmd": 1.5, "first_vs_s3cmd": 2.0,
    "first_vs_aws": 1.0, "serve_factor": 50.0,
}


# ----------------------------------------------------------------------------- helpers

def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def stats(values: list[float]) -> dict:
    values = [v for v in values if v is not None]
    if not values:
        return {"median": None, "min": None, "max": None, "runs": 0}
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": len(values)}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_for(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up in {timeout:.0f} s") from None
            time.sleep(0.1)


def http_json(url: str, data: bytes | None = None) -> dict:
    with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=600) as r:
        body = r.read()
    return json.loads(body) if body.strip().startswith(b"{") else {}


def run_text(cmd: list[str], **kwargs) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                              **kwargs).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


class Services:
    """Background processes this run started; stopped by pid, never by name."""

    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, cmd: list[str], **kwargs) -> subprocess.Popen:
        proc = subprocess.Popen(cmd, **kwargs)
        self.procs.append((name, proc))
        return proc

    def stop(self, proc: subprocess.Popen | None = None) -> None:
        for name, p in list(self.procs):
            if proc is not None and p is not proc:
                continue
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            self.procs.remove((name, p))


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.started = time.monotonic()
        self.services = Services()
        self.counter = 0
        self.results: dict = {"scenarios": {}, "notes": []}
        self.env = self._env()

    # ------------------------------------------------------------------ infrastructure

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def remaining(self) -> float:
        return self.args.budget - self.elapsed()

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and k not in ("NO_COLOR",)}
        aws_config = self.work / "aws-config"
        aws_config.write_text("[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n")
        env.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                   AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
                   AWS_PAGER="", AWS_CONFIG_FILE=str(aws_config),
                   AWS_SHARED_CREDENTIALS_FILE=str(self.work / "no-credentials"),
                   NO_COLOR="1", PYTHONUNBUFFERED="1")
        return env

    def measure(self, name: str, cmd: list[str], cwd: Path | None = None) -> dict:
        """Run cmd through bench/measure.py in a fresh process; return its figures."""
        self.counter += 1
        stem = self.work / "logs" / f"{self.counter:03d}-{name}"
        stem.parent.mkdir(exist_ok=True)
        out, err, js = (stem.with_suffix(s) for s in (".out", ".err", ".json"))
        subprocess.run([sys.executable, str(BENCH / "measure.py"), str(js), str(out), str(err),
                        "--", *map(str, cmd)], env=self.env, cwd=cwd or self.work, check=True)
        figures = json.loads(js.read_text())
        figures["stdout"] = out.read_text(errors="replace")
        figures["stderr"] = err.read_text(errors="replace")[-2000:]
        if figures["rc"] != 0:
            log(f"  {name}: exit {figures['rc']}: {figures['stderr'][-500:]}")
        return figures

    def start_feed_server(self) -> None:
        proc = self.services.start(
            "feeds", [sys.executable, str(BENCH / "feeds.py"), "--latency", str(LATENCY),
                      "--hosts", str(FEED_HOSTS)], stdout=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        if not line.startswith("READY"):
            raise RuntimeError("the feed server did not start")
        self.feed_port = int(line.split()[1])
        self.feed_admin = f"http://127.0.2.1:{self.feed_port}/_admin"

    def feeds_admin(self, action: str, **params) -> dict:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return http_json(f"{self.feed_admin}/{action}?{query}")

    # ------------------------------------------------------------------------ builds

    def write_build_config(self, name: str, count: int,
                           concurrency: int | None = None) -> Path:
        config_dir = self.work / "config"
        config_dir.mkdir(exist_ok=True)
        lines = ["# Generated by bench/run.py", "title: Bench report",
                 "base_url: http://127.0.0.1/", "description: Synthetic feeds for make bench"]
        if concurrency:
            lines += ["fetch:", f"  concurrency: {concurrency}"]
        lines.append("feeds:")
        for n in range(FEED_BASE.get(count, 0), FEED_BASE.get(count, 0) + count):
            lines += [f"  - url: {feedserver.feed_url(n, FEED_HOSTS, self.feed_port)}",
                      f"    title: Source {n}", f"    id: src-{n}",
                      f"    site: https://site{n}.example.org/"]
        (config_dir / f"{name}.yaml").write_text("\n".join(lines) + "\n")
        return config_dir

    def build(self, label: str, name: str, config_dir: Path, out: Path, state: Path,
              entry: list[str] | None = None) -> dict:
        before = self.feeds_admin("stats")
        cmd = [*(entry or [str(LINUXREPORT)]), "--config-dir", config_dir, "--out", out,
               "--state", state, "-q", "build", name, "--json"]
        figures = self.measure(label, cmd)
        after = self.feeds_admin("stats")
        try:
            built = json.loads(figures["stdout"])["built"][0]
        except (ValueError, KeyError, IndexError):
            built = {}
        record = {k: figures[k] for k in ("rc", "wall", "cpu", "user", "sys", "maxrss_mb",
                                           "peak_pss_mb", "peak_rss_sum_mb", "procs")}
        record.update(
            feeds_ok=built.get("feeds_ok"), feeds_total=built.get("feeds_total"),
            not_modified=built.get("not_modified"), entries=built.get("entries"),
            failures=len(built.get("failures", [])), internal_seconds=built.get("seconds"),
            files_written=built.get("files_written"),
            server_requests=after["requests"] - before["requests"],
            server_200=after["200"] - before["200"], server_304=after["304"] - before["304"],
            server_cpu=after["cpu"] - before["cpu"], server_max_open=after["max_open"])
        if figures["stderr"].strip() and "phase" in (entry or [""])[-1]:
            record["phases"] = _parse_phases(figures["stderr"])
        if record["failures"]:
            log(f"  {label}: {record['failures']} feeds failed: "
                f"{built.get('failures', [])[:3]}")
        log(f"  {label}: {record['wall']:.2f} s wall, {record['cpu']:.2f} s CPU, "
            f"{record['peak_pss_mb']:.0f} MB PSS, {record['feeds_ok']}/{record['feeds_total']}"
            f" ok, {record['server_200']}x200 {record['server_304']}x304")
        return record

    def build_round(self, count: int, run: int, instrumented: bool = False) -> None:
        """Cold build of count feeds from nothing; for 1,000 feeds then the warm builds."""
        scen = self.results["scenarios"]
        name = f"feeds{count}"
        config_dir = self.write_build_config(name, count, self.args.concurrency)
        out, state = self.work / "out", self.work / f"state-{name}"
        shutil.rmtree(out / name, ignore_errors=True)
        shutil.rmtree(state, ignore_errors=True)
        base = FEED_BASE.get(count, 0)
        self.feeds_admin("prepare", start=base, count=count)
        self.feeds_admin("reset", start=base, count=count)
        # Run 1 of the 1,000-feed builds goes through bench/phases.py: the same CLI entry
        # point with timers around the build stages (the breakdown in BENCHMARKS.md).
        entry = [sys.executable, str(BENCH / "phases.py")] if instrumented else None
        log(f"build {count:,} feeds, run {run + 1}" + (" (stages timed)" if entry else ""))
        steps = [("cold", f"cold_{count}", None)]
        if count == WARM_FEEDS:
            steps += [("warm-304", "warm_304", None),
                      ("warm-same-body", "warm_same", lambda: self.feeds_admin("validators", on=0)),
                      ("partial-10pc", "partial_10", lambda: (
                          self.feeds_admin("validators", on=1),
                          self.feeds_admin("bump", start=base, count=count, every=10,
                                           offset=run % 10)))]
        for label, key, before in steps:
            if before:
                before()
            record = self.build(label if label != "cold" else f"cold-{count}", name, config_dir,
                                out, state, entry=entry)
            scen.setdefault(key, []).append(record)
            if entry:
                self.results.setdefault("breakdown", {})[
                    "cold" if label == "cold" else key] = record
            if label == "cold" and not (self.work / "www" / name).exists() and \
                    (out / name / "index.html").is_file():
                shutil.copytree(out / name, self.work / "www" / name)
        self.feeds_admin("validators", on=1)

    def bench_sweep(self) -> None:
        """Warm (304) builds of 1,000 feeds at several concurrency limits: the latency floor."""
        name = f"feeds{WARM_FEEDS}"
        state = self.work / f"state-{name}"
        if not state.is_dir():
            return
        self.feeds_admin("validators", on=1)
        sweep = {}
        for concurrency in (32, 64, 128):
            last = sweep[max(sweep)]["wall"] if sweep else 20.0
            if last * 1.5 > self.remaining() - RESERVE:
                self.skip(f"concurrency sweep stopped before {concurrency}: out of budget")
                break
            config_dir = self.write_build_config(name, WARM_FEEDS, concurrency)
            log(f"warm 304 build with concurrency {concurrency}")
            sweep[concurrency] = self.build(f"sweep-{concurrency}", name, config_dir,
                                            self.work / "out", state)
        self.write_build_config(name, WARM_FEEDS, self.args.concurrency)
        self.results["sweep"] = sweep

    # ----------------------------------------------------------------------- publish

    def start_moto(self) -> None:
        self.moto_port = free_port()
        self.moto_log = self.work / "moto.log"
        self.moto_url = f"http://127.0.0.1:{self.moto_port}"
        self.services.start("moto", [str(MOTO), "-H", "127.0.0.1", "-p", str(self.moto_port)],
                            stdout=self.moto_log.open("wb"), stderr=subprocess.STDOUT,
                            env=self.env)
        wait_for(self.moto_url + "/")

    def s3(self):
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.moto_url, region_name="us-east-1",
                            aws_access_key_id="test", aws_secret_access_key="test",
                            config=Config(s3={"addressing_style": "path"}))

    def moto_requests(self, offset: int) -> tuple[int, dict]:
        """Return the log's new end and the requests since offset: {bucket: {method: [keys]}}."""
        data = self.moto_log.read_bytes()
        found: dict[str, dict[str, list[str]]] = {}
        for match in re.finditer(rb'"(GET|PUT|HEAD|POST|DELETE) /([^/ ?]+)/?([^ ?]*)\S* HTTP',
                                 data[offset:]):
            method, bucket, key = (m.decode() for m in match.groups())
            found.setdefault(bucket, {}).setdefault(method, []).append(key)
        return len(data), found

    def setup_publish(self) -> None:
        self.start_moto()
        self.site_out = self.work / "site-out"
        self.site = self.site_out / "site"
        config_dir = self.work / "pubconfig"
        config_dir.mkdir(exist_ok=True)
        (config_dir / "site.yaml").write_text(
            "title: Publish bench\nbase_url: http://127.0.0.1/\nfeeds:\n"
            "  - url: http://127.0.0.1:9/feed.xml\n    title: Unused\n"
            f"publish:\n  target: s3://lr-ours/site\n  endpoint_url: {self.moto_url}\n"
            "  region: us-east-1\n")
        s3cfg = self.work / "s3cfg"
        s3cfg.write_text(f"[default]\naccess_key = test\nsecret_key = test\nhost_base = "
                         f"127.0.0.1:{self.moto_port}\nhost_bucket = 127.0.0.1:{self.moto_port}"
                         "\nuse_https = False\nbucket_location = us-east-1\n"
                         "signature_v2 = False\n")
        site = self.site
        self.tools = {
            "linuxreport": ("lr-ours", [LINUXREPORT, "--config-dir", config_dir, "--out",
                                        self.site_out, "-q", "publish", "site", "--json"]),
            "aws s3 sync": ("lr-aws", [AWS2, "--endpoint-url", self.moto_url, "s3", "sync",
                                       f"{site}/", "s3://lr-aws/site/", "--only-show-errors",
                                       "--exclude", ".linuxreport/*"]),
            "s3cmd sync": ("lr-s3cmd", ["s3cmd", "-c", s3cfg, "sync", "--no-progress",
                                        "--quiet", "--exclude", ".linuxreport/*", f"{site}/",
                                        "s3://lr-s3cmd/site/"]),
        }
        self.results["moto_version"] = run_text([str(BIN / "python"), "-c",
                                                 "import moto; print(moto.__version__)"])

    def moto_cpu(self) -> float:
        pid = next(p.pid for n, p in self.services.procs if n == "moto")
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def publish_round(self, run: int) -> None:
        """New buckets; first upload, no change after a rewrite, 1 % changed; every tool."""
        urllib.request.urlopen(urllib.request.Request(
            self.moto_url + "/moto-api/reset", method="POST"), timeout=30).read()
        client = self.s3()
        for bucket, _ in self.tools.values():
            client.create_bucket(Bucket=bucket)
        files = make_site(self.site, seed=1)
        self.results.setdefault("site_tree", _tree_summary(files))
        tools = list(self.tools)
        order = tools[run % 3:] + tools[:run % 3]  # rotate who goes first
        scen = self.results.setdefault("publish", {})
        changed: list[str] = []
        for phase in ("first", "nochange", "partial"):
            if phase == "nochange":
                time.sleep(1.1)  # mtimes must be newer than the uploads, to the second
                rewrite_same(self.site, files)
            elif phase == "partial":
                time.sleep(1.1)
                changed = change_share(self.site, files, CHANGED_SHARE, seed=run)
            log(f"publish {phase}, run {run + 1}")
            for tool in order:
                bucket, cmd = self.tools[tool]
                offset, _ = self.moto_requests(0)
                moto0 = self.moto_cpu()
                figures = self.measure(f"publish-{phase}-{tool.split()[0]}", cmd)
                moto = self.moto_cpu() - moto0
                _, requests = self.moto_requests(offset)
                mine = requests.get(bucket, {})
                puts = [k for k in mine.get("PUT", []) if k]
                content_puts = sorted(k.removeprefix("site/") for k in puts
                                      if not k.endswith(".linuxreport/published.json"))
                record = {"wall": figures["wall"], "cpu": figures["cpu"], "server_cpu": moto,
                          "rc": figures["rc"], "puts": len(puts),
                          "content_puts": len(content_puts),
                          "requests": sum(len(v) for v in mine.values()),
                          "by_method": {m: len(v) for m, v in mine.items()},
                          "maxrss_mb": figures["maxrss_mb"]}
                if phase == "partial":
                    record["exact"] = content_puts == sorted(changed)
                    record["changed"] = len(changed)
                scen.setdefault(phase, {}).setdefault(tool, []).append(record)
                log(f"  {tool}: {figures['wall']:.2f} s ({figures['cpu']:.2f} s CPU, moto "
                    f"{moto:.2f} s), {len(puts)} PUTs, {record['requests']} requests")

    # ----------------------------------------------------------------------- serving

    def start_nginx(self) -> None:
        www = self.work / "www"
        ngx = self.work / "nginx"
        for sub in ("logs", "tmp"):
            (ngx / sub).mkdir(parents=True, exist_ok=True)
        served = self.results.setdefault("serving", {})
        served["precompressed"] = _precompress(www / "demo")
        self.nginx_port = free_port()
        temp = " ".join(f"{k}_temp_path {ngx}/tmp/{k};" for k in
                        ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (ngx / "nginx.conf").write_text(f"""
user root;
worker_processes 1;
daemon off;
pid {ngx}/nginx.pid;
error_log {ngx}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  {temp}
  access_log off;
  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_requests 1000000; keepalive_timeout 65;
  open_file_cache max=1000 inactive=60s;
  gzip_static on; gzip_vary on;
  server {{ listen 127.0.0.1:{self.nginx_port}; root {www}; index index.html; }}
}}
""")
        self.nginx = self.services.start(
            "nginx", ["nginx", "-e", f"{ngx}/logs/error.log", "-c", f"{ngx}/nginx.conf",
                      "-p", f"{ngx}/"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(f"http://127.0.0.1:{self.nginx_port}/demo/")
        served["bytes"] = {}
        for encoding in ("identity", "gzip"):
            req = urllib.request.Request(f"http://127.0.0.1:{self.nginx_port}/demo/",
                                         headers={"Accept-Encoding": encoding})
            with urllib.request.urlopen(req, timeout=10) as r:
                body = r.read()
                got = r.headers.get("Content-Encoding") or "identity"
            if got != encoding:
                raise RuntimeError(f"nginx answered {got} to Accept-Encoding: {encoding}")
            served["bytes"][encoding] = len(body)

    def nginx_worker_cpu(self) -> float:
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in _children_of(self.nginx.pid):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        return total

    def serve_round(self, run: int) -> None:
        import resource
        url = f"http://127.0.0.1:{self.nginx_port}/demo/"
        out = self.results.setdefault("serving", {})
        every = os.sched_getaffinity(0)
        cpu, other = max(every), min(every)  # the nginx worker's CPU, and wrk's when separate
        out["headline"], out["cpus"] = SERVE_HEADLINE, {"worker": cpu, "wrk_separate": other}
        for name, encoding, placement, loads in SERVE_VARIANTS:
            for worker in _children_of(self.nginx.pid):
                os.sched_setaffinity(worker, {cpu})
            for conns in loads:
                threads = min(conns, 2)
                cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{self.args.wrk_seconds}s",
                       "--latency"]
                if encoding != "identity":
                    cmd += ["-H", f"Accept-Encoding: {encoding}"]
                cmd = ["taskset", "-c", str(cpu if placement == "same" else other), *cmd]
                log(f"wrk -t{threads} -c{conns} -d{self.args.wrk_seconds}s, {name}, "
                    f"run {run + 1}")
                worker0, ticks0 = self.nginx_worker_cpu(), cpu_ticks()
                wrk0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                text = run_text([*cmd, url])
                wrk1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                ticks = {k: v - ticks0[k] for k, v in cpu_ticks().items()}
                record = _parse_wrk(text)
                hz = os.sysconf("SC_CLK_TCK")
                busy = (sum(ticks.values()) - ticks["idle"] - ticks["iowait"]
                        - ticks["steal"]) / hz
                record["worker_cpu"] = self.nginx_worker_cpu() - worker0
                record["wrk_cpu"] = (wrk1.ru_utime + wrk1.ru_stime
                                     - wrk0.ru_utime - wrk0.ru_stime)
                record["irq_cpu"] = (ticks["irq"] + ticks["softirq"]) / hz
                # Anything else that ran meanwhile (other work on the machine).
                record["other_cpu"] = max(0.0, busy - record["worker_cpu"] - record["wrk_cpu"]
                                          - record["irq_cpu"])
                n = record["requests"] or 1
                for key in ("worker", "wrk", "irq"):
                    record[f"{key}_us"] = record[f"{key}_cpu"] / n * 1e6
                cost = record["worker_cpu"]
                record["per_cpu_second"] = record["requests"] / cost if cost else None
                variant = out.setdefault("variants", {}).setdefault(name, {
                    "encoding": encoding, "placement": placement})
                variant.setdefault(f"c{conns}", []).append(record)
                if SERVE_HEADLINE.get(f"c{conns}") == name:
                    out.setdefault(f"c{conns}", []).append(record)
                log(f"  {record['rps']:,.0f} req/s; CPU per request: nginx worker "
                    f"{record['worker_us']:.0f} µs, wrk {record['wrk_us']:.0f} µs, softirq "
                    f"{record['irq_us']:.0f} µs; other load {record['other_cpu']:.1f} s; "
                    f"p99 {record['p99_ms']} ms")
        for worker in _children_of(self.nginx.pid):
            os.sched_setaffinity(worker, every)

    def bench_weight(self) -> None:
        weights = {}
        for name, label in (("demo", "demo front page"),
                            (f"feeds{WARM_FEEDS}", f"{WARM_FEEDS:,}-feed front page")):
            root = self.work / "www" / name
            if (root / "index.html").is_file():
                weights[label] = page_weight(root)
        browser = browser_requests(f"http://127.0.0.1:{self.nginx_port}/demo/")
        if browser:
            weights["demo front page"]["browser"] = browser
        self.results["weight"] = weights

    def build_demo(self) -> None:
        out, state = self.work / "demo-out", self.work / "demo-state"
        figures = self.measure("demo-build", [LINUXREPORT, "--config-dir", ROOT / "config",
                                              "--out", out, "--state", state, "-q", "build",
                                              "demo", "--json"])
        if figures["rc"] != 0:
            raise RuntimeError("the demo report did not build: " + figures["stderr"])
        shutil.copytree(out / "demo", self.work / "www" / "demo", dirs_exist_ok=True)
        self.results["demo_build"] = {"wall": figures["wall"], "cpu": figures["cpu"]}

    # ------------------------------------------------------------------------ driver

    def run(self) -> None:
        """One run of every scenario first, then more runs while the time budget allows."""
        a = self.args
        self.results["machine"] = machine_info()
        self.results["started"] = datetime.now(UTC).isoformat(timespec="seconds")
        self.results["calibration"] = {"start": calibrate()}
        ticks0 = cpu_ticks()
        self.results["config"] = {
            "latency_ms": LATENCY * 1000, "feed_hosts": FEED_HOSTS,
            "concurrency": a.concurrency or _default("concurrency"),
            "per_host": _default("per_host"), "runs": a.runs, "wrk_seconds": a.wrk_seconds,
            "quick": a.quick, "budget": a.budget}
        self.start_feed_server()
        (self.work / "www").mkdir()
        if a.only == {"scale"}:
            for run in range(a.runs_5000):
                self.build_round(5000, run)
            self.results["duration"] = self.elapsed()
            return
        rounds = []  # (name, callable(run)), in the order extra runs are made
        if "serve" in a.only:
            self.build_demo()
            self.start_nginx()
            rounds.append(("serve", self.serve_round))
        if "build" in a.only:
            rounds.append(("build 1,000", lambda run: self.build_round(WARM_FEEDS, run, run == 0)))
            rounds.append(("build 100", lambda run: self.build_round(100, run)))
        if "publish" in a.only:
            self.setup_publish()
            rounds.append(("publish", self.publish_round))
        cost = {}
        for name, round_ in rounds:
            started = time.monotonic()
            round_(0)
            cost[name] = time.monotonic() - started
        if "build" in a.only:
            self.feeds_admin("prepare", start=0, count=5)
            self.results["parse_ms"] = _parse_cost(self.feed_port)
        wanted = 1 if a.quick else a.runs
        # Extra runs, the costliest first, so that the budget is spent where it matters.
        rounds.sort(key=lambda item: -cost[item[0]])
        for run in range(1, wanted):
            for name, round_ in rounds:
                if cost[name] * 1.15 > self.remaining() - RESERVE:
                    self.skip(f"run {run + 1} of the {name} scenarios not made: about "
                              f"{cost[name]:.0f} s needed, {self.remaining():.0f} s left of "
                              f"the {a.budget:.0f} s budget")
                    continue
                round_(run)
        if "build" in a.only and not a.quick:
            self.bench_sweep()
            self.maybe_scale()
        if "serve" in a.only:
            self.bench_weight()
        self.results["runs_made"] = {
            "build 1,000": len(self.results["scenarios"].get("cold_1000", [])),
            "build 100": len(self.results["scenarios"].get("cold_100", [])),
            "build 5,000": len(self.results["scenarios"].get("cold_5000", [])),
            "publish": len(self.results.get("publish", {}).get("first", {}).get(
                "linuxreport", [])),
            "serve": len(self.results.get("serving", {}).get("c1", []))}
        self.results["calibration"]["end"] = calibrate()
        ticks = {k: v - ticks0[k] for k, v in cpu_ticks().items()}
        total = sum(ticks.values()) or 1
        self.results["cpu_share"] = {"steal": ticks["steal"] / total,
                                     "idle": (ticks["idle"] + ticks["iowait"]) / total}
        self.results["duration"] = self.elapsed()

    def skip(self, note: str) -> None:
        log(note)
        self.results["notes"].append(note)

    def maybe_scale(self) -> None:
        cold = self.results["scenarios"].get(f"cold_{WARM_FEEDS}")
        if self.args.scale == "never":
            return
        per_run = 5 * stats([r["wall"] for r in cold])["max"] + 15 if cold else 300
        need = per_run * self.args.runs_5000
        if self.args.scale == "auto" and need > self.remaining() - RESERVE:
            self.skip(f"5,000 feeds not built: about {need:.0f} s needed, "
                      f"{self.remaining():.0f} s left of the {self.args.budget:.0f} s budget; "
                      "`bench/run.py --only scale` adds them")
            return
        for run in range(self.args.runs_5000):
            self.build_round(5000, run)


# ------------------------------------------------------------------ build measurements

def _default(field: str):
    try:
        from linuxreport.config import FetchLimits
        return getattr(FetchLimits(), field)
    except Exception:  # the package changed: say unknown rather than fail
        return None


def _parse_phases(stderr: str) -> dict:
    phases = {}
    for line in stderr.splitlines():
        m = re.match(r"PHASE (\S+) wall ([\d.]+) cpu ([\d.]+) n=(\d+)", line)
        if m:
            phases[m.group(1)] = {"wall": float(m.group(2)), "cpu": float(m.group(3)),
                                  "calls": int(m.group(4))}
        m = re.match(r"PROCESS main_cpu ([\d.]+) workers_cpu ([\d.]+)", line)
        if m:
            phases["_main_cpu"] = float(m.group(1))
            phases["_workers_cpu"] = float(m.group(2))
    return phases


def _parse_cost(port: int) -> dict:
    """CPU milliseconds to parse one 35 KB feed with linuxreport's parser (RSS and Atom),
    by its fast path and by feedparser."""
    try:
        from linuxreport.parse import parse_feed
    except Exception:
        return {}
    cost = {}
    for n, kind in ((0, "rss"), (3, "atom")):
        url = feedserver.feed_url(n, FEED_HOSTS, port)
        body = urllib.request.urlopen(url, timeout=10).read()
        headers = {"content-type": f"application/{kind}+xml; charset=utf-8"}
        for label, fast in ((kind, True), (f"{kind}_feedparser", False)):
            try:
                parse_feed(body, headers, url, fast=fast)
            except TypeError:  # a linuxreport without the fast path
                if not fast:
                    continue
                fast = None
            started = time.process_time()
            for _ in range(10):
                if fast is None:
                    parse_feed(body, headers, url)
                else:
                    parse_feed(body, headers, url, fast=fast)
            cost[label] = (time.process_time() - started) / 10 * 1000
        cost["bytes"] = len(body)
    return cost


# ------------------------------------------------------------------------- site tree

def make_site(site: Path, seed: int = 1) -> dict[str, bytes]:
    """Write a 2,000-file site of realistic sizes (and the manifest `publish` reads)."""
    rng = random.Random(seed)
    words = feedserver.WORDS
    corpus = " ".join(rng.choice(words) for _ in range(60_000)).encode()
    files: dict[str, bytes] = {}

    def text(size: int, head: str) -> bytes:
        start = rng.randrange(0, len(corpus) - size)
        return head.encode() + corpus[start:start + max(size - len(head), 0)]

    def lognormal(median: float, sigma: float, low: int, high: int) -> int:
        return int(min(max(rng.lognormvariate(math.log(median), sigma), low), high))

    def h8() -> str:
        return f"{rng.getrandbits(32):08x}"

    for i in range(25):
        files[f"assets/css/style{i}-{h8()}.css"] = text(lognormal(18_000, 0.8, 2_000, 90_000),
                                                        f"/* css {i} */\n")
    for i in range(45):
        files[f"assets/js/mod{i}-{h8()}.js"] = text(lognormal(30_000, 1.0, 1_500, 250_000),
                                                    f"// js {i}\n")
    for i in range(120):
        files[f"img/photos/photo{i}.jpg"] = rng.randbytes(lognormal(70_000, 0.7, 8_000,
                                                                    400_000))
    for i in range(60):
        files[f"img/thumbs/thumb{i}.png"] = rng.randbytes(lognormal(12_000, 0.6, 1_500, 60_000))
    for i in range(30):
        files[f"img/logos/logo{i}.svg"] = text(lognormal(3_000, 0.6, 600, 20_000), "<svg>")
    for i in range(20):
        files[f"img/art/art{i}.webp"] = rng.randbytes(lognormal(40_000, 0.6, 5_000, 200_000))
    for name in ("feed.xml", "sitemap.xml", "headlines.json", "sources.opml", "robots.txt",
                 "status.json", "version.json", "manifest.webmanifest"):
        files[name] = text(lognormal(20_000, 1.0, 60, 120_000), f"{name}\n")
    files["index.html"] = text(60_000, "<!DOCTYPE html><title>front</title>")
    files["404.html"] = text(4_000, "<!DOCTYPE html><title>404</title>")
    pages = SITE_FILES - len(files)
    for i in range(pages):
        section = ("news", "archive", "tags", "sources")[i % 4]
        files[f"{section}/{i // 100:02d}/page-{i}/index.html"] = text(
            lognormal(22_000, 0.6, 4_000, 120_000), f"<!DOCTYPE html><title>page {i}</title>")
    shutil.rmtree(site, ignore_errors=True)
    for path, data in files.items():
        dest = site / path
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    write_manifest(site, files)
    return files


def write_manifest(site: Path, files: dict[str, bytes]) -> None:
    """The build's manifest, as linuxreport/output.py writes it: {path: {md5, size}}."""
    records = {p: {"md5": hashlib.md5(d).hexdigest(), "size": len(d)}
               for p, d in sorted(files.items())}
    manifest = site / ".linuxreport" / "manifest.json"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps({"report": "site", "files": records}, indent=1,
                                   sort_keys=True) + "\n")


def rewrite_same(site: Path, files: dict[str, bytes]) -> None:
    """A rebuild that rewrote every file with the same bytes (new mtimes, same content)."""
    for path, data in files.items():
        (site / path).write_bytes(data)
    write_manifest(site, files)


def change_share(site: Path, files: dict[str, bytes], share: float, seed: int) -> list[str]:
    """Change share of the files (pages, data, unhashed images); half keep their size."""
    rng = random.Random(1000 + seed)
    candidates = sorted(p for p in files if not p.startswith("assets/"))
    chosen = rng.sample(candidates, round(len(files) * share))
    for i, path in enumerate(chosen):
        data = bytearray(files[path])
        pos = rng.randrange(len(data) // 2, len(data) - 8)
        data[pos:pos + 8] = b"CHANGED!"
        if i % 2:
            data += b"<!-- grown -->"
        files[path] = bytes(data)
        (site / path).write_bytes(files[path])
    write_manifest(site, files)
    return chosen


def _tree_summary(files: dict[str, bytes]) -> dict:
    kinds: dict[str, list[int]] = {}
    for path, data in files.items():
        kinds.setdefault(Path(path).suffix.lstrip("."), []).append(len(data))
    return {"files": len(files), "bytes": sum(len(d) for d in files.values()),
            "by_type": {k: {"files": len(v), "bytes": sum(v), "median": statistics.median(v)}
                        for k, v in sorted(kinds.items())}}


# --------------------------------------------------------------------------- serving

def _children_of(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    return found


def _precompress(site: Path) -> dict:
    """Write a .gz sibling (level 9, mtime 0: the bytes publish.gzip stores) of every text file
    of the served copy, for nginx's gzip_static. The build itself writes none."""
    try:
        from linuxreport.publish.headers import compressible
    except ImportError:  # the package moved: the same suffixes as publish uses today
        def compressible(path: str) -> bool:
            return Path(path).suffix in {".html", ".css", ".js", ".json", ".xml", ".txt",
                                          ".svg", ".opml", ".webmanifest", ".atom", ".rss"}
    files = raw = packed = 0
    for path in sorted(site.rglob("*")):
        if path.is_file() and compressible(path.name):
            data = path.read_bytes()
            squeezed = gzip.compress(data, compresslevel=9, mtime=0)
            path.with_name(path.name + ".gz").write_bytes(squeezed)
            files, raw, packed = files + 1, raw + len(data), packed + len(squeezed)
    return {"files": files, "bytes": raw, "gzip_bytes": packed}


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _parse_wrk(text: str) -> dict:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    total = re.search(r"(\d+) requests in", text)
    latency = re.search(r"Latency\s+([\d.]+)(us|ms|s)\s", text)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", text)
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", text)
    return {"rps": float(rps.group(1)) if rps else 0.0,
            "requests": int(total.group(1)) if total else 0,
            "latency_ms": _ms(*latency.groups()) if latency else None,
            "p99_ms": round(_ms(*p99.groups()), 3) if p99 else None,
            "transfer": " ".join(transfer.groups()) if transfer else "",
            "errors": "Non-2xx" in text or "Socket errors" in text}


class _Refs(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "link" and a.get("href") and not a["href"].startswith("data:"):
            rel = (a.get("rel") or "").lower()
            if rel in ("stylesheet", "icon", "manifest", "preload", "modulepreload"):
                self.refs.append((rel, a["href"]))
        elif tag == "script" and a.get("src"):
            self.refs.append(("script", a["src"]))
        elif tag == "img" and a.get("src") and not a["src"].startswith(("data:", "http")):
            self.refs.append(("img", a["src"]))


def page_weight(root: Path) -> dict:
    doc = (root / "index.html").read_bytes()
    parser = _Refs()
    parser.feed(doc.decode("utf-8", "replace"))
    subs = []
    for kind, href in parser.refs:
        path = root / href.split("?")[0].split("#")[0].lstrip("./")
        if path.is_file() and (kind, href) not in [(k, h) for k, h, _ in subs]:
            subs.append((kind, href, path.read_bytes()))
    total = doc + b"".join(d for _, _, d in subs)
    return {"html_raw": len(doc), "html_gzip": len(gzip.compress(doc, 6, mtime=0)),
            "html_gzip9": len(gzip.compress(doc, 9, mtime=0)),
            "requests": 1 + len(subs), "subresources": [(k, h) for k, h, _ in subs],
            "total_raw": len(total),
            "total_gzip": len(gzip.compress(doc, 6, mtime=0)) + sum(
                len(gzip.compress(d, 6, mtime=0)) for _, _, d in subs)}


def browser_requests(url: str) -> dict | None:
    """Requests a headless Chromium makes to load the page (first visit), if available."""
    chromium = shutil.which("chromium")
    if not chromium:
        return None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    flags = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    seen: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=flags)
            page = browser.new_page()
            page.on("request", lambda r: seen.append(r.url))
            page.goto(url, wait_until="networkidle")
            page.wait_for_timeout(500)
            sizes = page.evaluate(
                "() => performance.getEntriesByType('resource').concat("
                "performance.getEntriesByType('navigation')).map(e => e.transferSize)")
            browser.close()
    except Exception as exc:  # no browser here: the static count stands
        return {"error": f"{type(exc).__name__}: {exc}"[:200]}
    return {"requests": len(seen), "urls": [u.split("/demo/", 1)[-1] for u in seen],
            "transfer_bytes": sum(s or 0 for s in sizes)}


# -------------------------------------------------------------------------- machine

def machine_info() -> dict:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in
                   Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = 0
    try:
        mem = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    except (OSError, AttributeError):
        pass
    os_name = ""
    try:
        os_name = re.search(r'PRETTY_NAME="([^"]+)"', Path("/etc/os-release").read_text()).group(1)
    except (OSError, AttributeError):
        pass

    def pkg(name: str) -> str:
        return run_text([str(BIN / "python"), "-c",
                         f"import importlib.metadata as m; print(m.version({name!r}))"])

    rev = run_text(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = run_text(["git", "-C", str(ROOT), "status", "--porcelain", "--", "linuxreport"])
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(mem / 1024 / 1024, 1),
        "os": os_name, "kernel": platform.release(), "python": platform.python_version(),
        "loadavg_start": os.getloadavg(),
        "versions": {
            "linuxreport": f"{pkg('linuxreport')} ({rev}{', modified' if dirty else ''})",
            "feedparser": pkg("feedparser"), "httpx": pkg("httpx"), "jinja2": pkg("jinja2"),
            "boto3": pkg("boto3"), "moto": pkg("moto"),
            "aws": run_text([str(AWS2), "--version"]).split(" ")[0],
            "s3cmd": run_text(["s3cmd", "--version"]).replace("s3cmd version ", ""),
            "nginx": (subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr
                      .strip().split("/")[-1]),
            "wrk": run_text(["wrk", "-v"]).split("[")[0].replace("wrk ", "").strip(),
        },
    }


def calibrate() -> float:
    """Seconds a fixed pure-Python loop takes in a fresh process: how fast the CPU is now.

    On a shared or virtual machine the same code can run at very different speeds from
    hour to hour; this number, taken at the start and at the end, shows it."""
    code = "import time\nt=time.perf_counter()\ns=0\nfor i in range(5_000_000): s+=i\n" \
           "print(time.perf_counter()-t)"
    try:
        return float(run_text([sys.executable, "-c", code]))
    except ValueError:
        return 0.0


def cpu_ticks() -> dict[str, int]:
    """Cumulative CPU ticks of the whole machine from /proc/stat (for steal and busy time)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    names = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
    return dict(zip(names, map(int, fields[:8]), strict=True))


def merge_scale(prior: dict, scale: dict) -> dict:
    """Add the 5,000-feed builds of an `--only scale` run to the last full results."""
    prior["scenarios"]["cold_5000"] = scale["scenarios"].get("cold_5000", [])
    prior["notes"] = [n for n in prior.get("notes", []) if not n.startswith("5,000 feeds not")]
    prior["notes"].append(f"the 5,000-feed builds come from a separate run right after "
                          f"(`bench/run.py --only scale`, {scale['duration']:.0f} s)")
    prior.setdefault("runs_made", {})["build 5,000"] = len(prior["scenarios"]["cold_5000"])
    return prior


def check_tools() -> list[str]:
    missing = []
    for tool, package in (("nginx", "nginx"), ("wrk", "wrk"), ("s3cmd", "s3cmd")):
        if not shutil.which(tool):
            missing.append(package)
    if not AWS2.is_file():
        missing.append("awscli")
    if not MOTO.is_file():
        missing.append("moto_server in the venv (pip install -e '.[test]')")
    return missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each build scenario")
    parser.add_argument("--runs-5000", type=int, default=1, help="runs of the 5,000-feed build")
    parser.add_argument("--wrk-seconds", type=int, default=10)
    parser.add_argument("--scale", choices=("auto", "always", "never"), default="auto",
                        help="build 5,000 feeds: when the budget allows (auto), always, never")
    parser.add_argument("--budget", type=float, default=540.0,
                        help="seconds make bench may take (auto scale decides with it)")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="fetch.concurrency in the generated configs [linuxreport's "
                             "default]")
    parser.add_argument("--only", default="serve,build,publish",
                        help="comma-separated: serve, build, publish; or `scale` alone: "
                             "build 5,000 feeds and add them to bench/results.json")
    parser.add_argument("--quick", action="store_true", help="one run of everything")
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite BENCHMARKS.md and charts from bench/results.json")
    parser.add_argument("--output", type=Path, default=REPORT)
    args = parser.parse_args()
    args.only = set(args.only.split(","))
    from report import write_report  # bench/report.py

    if args.report_only:
        write_report(json.loads(RESULTS.read_text()), args.output, CHARTS)
        return
    missing = check_tools()
    if missing:
        sys.exit("make bench needs: " + ", ".join(missing) + " (apt-get install ...)")
    if args.only == {"scale"} and not RESULTS.is_file():
        sys.exit("--only scale adds the 5,000-feed builds to bench/results.json: run the "
                 "benchmark first")
    work = Path(tempfile.mkdtemp(prefix="linuxreport-bench-"))
    bench = Bench(args, work)
    try:
        bench.run()
    finally:
        bench.services.stop()
        if args.keep:
            log(f"work dir kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    results = bench.results
    if args.only == {"scale"}:
        results = merge_scale(json.loads(RESULTS.read_text()), results)
    RESULTS.write_text(json.dumps(results, indent=1, default=str) + "\n")
    write_report(results, args.output, CHARTS)
    log(f"done in {bench.elapsed():.0f} s; wrote {args.output}, {RESULTS} and {CHARTS}/")


if __name__ == "__main__":
    main()
