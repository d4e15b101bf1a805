"""The linuxreport command line: options, logging, and errors turned into exit codes.

Exit codes: 0 success, 1 the run failed (bad config, every feed failed, publish
refused...), 2 usage error (unknown option or command).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from datetime import datetime
from pathlib import Path

import click

from .config import Report, load_reports
from .errors import BuildError, ConfigError, LinuxReportError

log = logging.getLogger("linuxreport")
# The shipped templates/ and assets/ (build.SitePaths' default), known here without
# importing the build stages: `publish` and `check` only read config, and the build's
# imports (httpx, feedparser, jinja2, webassets...) would double their start-up time.
SHIPPED_SITE_DIR = Path(__file__).resolve().parent.parent

EXIT_CODES = """\b
Exit codes:
  0  success (a build may still have skipped some failing feeds)
  1  the run failed: invalid config, every feed failed, output not written
  2  usage error: unknown command or option"""


def _verbosity(f):
    f = click.option("-v", "--verbose", count=True, help="More output; -vv for debug.")(f)
    return click.option("-q", "--quiet", count=True, help="Less output: warnings and errors.")(f)


def _apply_verbosity(ctx: click.Context, verbose: int, quiet: int) -> None:
    obj = ctx.ensure_object(dict)
    obj["level"] = obj.get("level", 0) + verbose - quiet
    _setup_logging(obj["level"])


def _setup_logging(level: int) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    if _use_color():
        from rich.logging import RichHandler
        handler: logging.Handler = RichHandler(show_time=False, show_path=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.WARNING if level < 0 else logging.INFO if level < 2 else logging.DEBUG)
    if level >= 1:
        logging.getLogger("linuxreport").setLevel(logging.DEBUG)
    for noisy in ("httpx", "botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(noisy).setLevel(logging.INFO if level >= 2 else logging.WARNING)


def _use_color() -> bool:
    return sys.stderr.isatty() and "NO_COLOR" not in os.environ


@click.group(epilog=EXIT_CODES, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config-dir", type=click.Path(path_type=Path), default=Path("config"),
              show_default=True, help="Directory of report files (<name>.yaml).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("public"),
              show_default=True, help="Output directory; one subfolder per report.")
@click.option("--state", type=click.Path(path_type=Path), default=Path(".state"),
              show_default=True, help="State directory (last good entries, validators).")
@click.option("--site-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Directory with templates/ and assets/ [default: the ones shipped].")
@_verbosity
@click.version_option(package_name="linuxreport")
@click.pass_context
def cli(ctx: click.Context, config_dir: Path, out: Path, state: Path, site_dir: Path | None,
        verbose: int, quiet: int) -> None:
    """Build a news aggregator's static site from feeds, then publish it.

    \b
    Example:
      linuxreport build && linuxreport publish
    """
    ctx.ensure_object(dict).update(config_dir=config_dir, out=out, state=state,
                                   site_dir=site_dir or SHIPPED_SITE_DIR)
    _apply_verbosity(ctx, verbose, quiet)


def _load(ctx: click.Context, names: list[str], strict: bool) -> list[Report]:
    obj = ctx.obj
    result = load_reports(obj["config_dir"], obj["site_dir"] / "assets", names or None,
                          strict=strict)
    for warning in result.warnings:
        log.warning("%s", warning)
    return result.reports


@cli.command(epilog=EXIT_CODES)
@click.argument("reports", nargs=-1)
@click.option("--strict", is_flag=True,
              help="Treat config warnings and any failing feed as errors.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report on stdout.")
@click.option("--now", type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"]),
              hidden=True, help="Build as if it were this time (tests, reproducible builds).")
@_verbosity
@click.pass_context
def build(ctx: click.Context, reports: tuple[str, ...], strict: bool, as_json: bool,
          now: datetime | None, verbose: int, quiet: int) -> None:
    """Fetch every feed and build the static site of each report.

    With no REPORT, builds every report in the config dir. Failing feeds are
    skipped (their last good entries stay on the page) and named in the summary.

    \b
    Example:
      linuxreport build linux
    """
    from .build import SitePaths, build_report
    from .progress import feed_progress

    _apply_verbosity(ctx, verbose, quiet)
    loaded = _load(ctx, list(reports), strict)
    site_dir = ctx.obj["site_dir"]
    paths = SitePaths(site_dir / "templates", site_dir / "assets")
    if now and now.tzinfo is None:
        now = now.astimezone()
    summaries, failed = [], []
    for report in loaded:
        try:
            with feed_progress(report, enabled=_use_color()) as on_done:
                summary = build_report(report, ctx.obj["out"], ctx.obj["state"], now=now,
                                       paths=paths, strict=strict,
                                       on_feed_done=on_done)
        except BuildError as exc:
            log.error("%s", exc.message)
            failed.append(report.name)
            continue
        summaries.append(summary)
        if ctx.obj["level"] >= 0 and not as_json:
            click.echo(summary.line(), err=True)
    if as_json:
        click.echo(json.dumps({"built": [vars(s) for s in summaries], "failed": failed},
                              indent=2, default=str))
    if failed:
        raise BuildError(f"not built: {', '.join(failed)}")


@cli.command(epilog=EXIT_CODES)
@click.argument("reports", nargs=-1)
@click.option("--strict", is_flag=True, help="Treat warnings (unknown keys) as errors.")
@click.option("--reference", is_flag=True, help="Print the config reference and exit.")
@_verbosity
@click.pass_context
def check(ctx: click.Context, reports: tuple[str, ...], strict: bool, reference: bool,
          verbose: int, quiet: int) -> None:
    """Validate report configs and print every problem found, without building.

    \b
    Example:
      linuxreport check --strict
    """
    _apply_verbosity(ctx, verbose, quiet)
    if reference:
        from .config import Report as ReportSchema
        from .schema import reference as schema_reference
        click.echo("\n".join(schema_reference(ReportSchema)))
        return
    for report in _load(ctx, list(reports), strict):
        if ctx.obj["level"] >= 0:
            click.echo(f"{report.path}: OK ({len(report.feeds)} feeds)")


@cli.command(epilog=EXIT_CODES)
@click.argument("report", required=False)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@_verbosity
@click.pass_context
def serve(ctx: click.Context, report: str | None, host: str, port: int, verbose: int,
          quiet: int) -> None:
    """Preview a built report locally, with the headers the bucket will send.

    With no REPORT, serves the whole output dir (each report under /<name>/).

    \b
    Example:
      linuxreport build demo && linuxreport serve demo
    """
    from .serve import make_server

    _apply_verbosity(ctx, verbose, quiet)
    directory = ctx.obj["out"] / report if report else ctx.obj["out"]
    if not (directory / "index.html").is_file() and report:
        raise BuildError(f"{directory}: not built yet; run: linuxreport build {report}")
    if not directory.is_dir():
        raise BuildError(f"{directory}: not built yet; run: linuxreport build")
    try:
        server = make_server(directory, host, port)
    except OSError as exc:
        raise LinuxReportError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    click.echo(f"Serving {directory} at http://{host}:{server.server_port}/ (Ctrl+C stops)",
               err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@cli.command(epilog=EXIT_CODES)
@click.argument("reports", nargs=-1)
@click.option("--target", help="s3://bucket/prefix or a directory; overrides the config "
              "(with several reports, each goes to TARGET/<report>).")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@click.option("--max-deletes", type=click.IntRange(min=0), default=None,
              help="Over this many deletes, delete nothing and warn. [default: 256]")
@click.option("--force", is_flag=True, help="Publish even if the site shrank by over half.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Uploads at the same time. [default: 16]")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report on stdout.")
@_verbosity
@click.pass_context
def publish(ctx: click.Context, reports: tuple[str, ...], target: str | None, dry_run: bool,
            max_deletes: int | None, force: bool, workers: int | None, as_json: bool,
            verbose: int, quiet: int) -> None:
    """Upload built reports to their target: a bucket, or a local directory.

    Only changed files are uploaded (MD5 compare); hashed assets go first, then
    data files, then HTML with the front page last, then deletes. Old hashed
    assets stay for the retention window. With no target configured, publishes
    to published/<report>.

    \b
    Example:
      linuxreport publish linux --target s3://my-bucket/linux --dry-run
    """
    from .publish import publish_all

    _apply_verbosity(ctx, verbose, quiet)
    loaded = _load(ctx, list(reports), strict=False)
    summaries = publish_all(loaded, ctx.obj["out"], target, dry_run=dry_run, force=force,
                            max_deletes=max_deletes, workers=workers,
                            progress=_use_color())
    for summary in summaries:
        if as_json:
            continue
        if dry_run:
            click.echo(_plan_text(summary))
        elif ctx.obj["level"] >= 0:
            click.echo(summary.line(), err=True)
    if as_json:
        click.echo(json.dumps({"published": [vars(s) for s in summaries]}, indent=2))


def _plan_text(summary) -> str:
    lines = [summary.line()]
    for cls, count in sorted(summary.by_class.items()):
        lines.append(f"  upload {count} {cls}")
    lines += [f"  upload {path}" for path in summary.uploads]
    lines += [f"  delete {path}" for path in summary.deletes]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning errors into one clear message and an exit code."""
    argv = sys.argv[1:] if argv is None else argv
    verbose = any(a == "--verbose" or (a.startswith("-v") and set(a[1:]) == {"v"}) for a in argv)
    try:
        cli.main(args=argv, prog_name="linuxreport", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.UsageError as exc:
        exc.show()
        sys.exit(2)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        click.echo(f"Error: {len(exc.problems)} problem(s) in the config; nothing was written.",
                   err=True)
        sys.exit(1)
    except click.ClickException as exc:
        if verbose:
            traceback.print_exc()
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:  # a bug: say so plainly, keep the traceback for -v
        if verbose:
            traceback.print_exc()
        click.echo(f"Error: internal error: {type(exc).__name__}: {exc} (run with -v for the "
                   f"traceback)", err=True)
        sys.exit(1)
