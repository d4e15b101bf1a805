"""Run Lighthouse 12 on a built report served locally; print the four scores.

Usage: python tests/tools/lighthouse.py public/demo [--min 0.95]
Exits 1 when a score is below the minimum.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from linuxreport.serve import make_server

TOOLS = Path(__file__).resolve().parent
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
CHROME_FLAGS = ("--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run "
                "--disable-background-networking --disable-component-update --disable-sync")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--min", type=float, default=0.95)
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if not chromium:
        print("chromium is not installed (make install installs it)", file=sys.stderr)
        return 1
    server = make_server(args.site, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/"
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "lh.json"
        subprocess.run(
            [str(TOOLS / "node_modules/.bin/lighthouse"), url, "--quiet",
             "--no-enable-error-reporting", "--output=json", f"--output-path={report}",
             "--only-categories=" + ",".join(CATEGORIES), f"--chrome-flags={CHROME_FLAGS}"],
            check=True, env={"CHROME_PATH": chromium, "PATH": "/usr/bin:/bin:/usr/local/bin"},
            timeout=180)
        result = json.loads(report.read_text())
    server.shutdown()
    failed = False
    for name in CATEGORIES:
        score = result["categories"][name]["score"]
        print(f"{name}: {score:.2f}")
        failed |= score is None or score < args.min
    if failed:
        for audit in result["audits"].values():
            if audit.get("score") is not None and audit["score"] < 1 and \
                    audit.get("scoreDisplayMode") == "binary":
                print(f"  failing audit: {audit['id']}: {audit['title']}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
