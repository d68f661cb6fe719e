"""Screenshots of an ``ns report`` page for the docs (docs/img/report-*.png), in headless Chromium.

    python scripts/report_screenshots.py REPORT.html OUT_DIR [--bench NAME] [--problem I]

Writes report-summary.png (the run and the tables), report-plots.png, report-problems.png (a
drill-down open, with the messages sent) and, when the page has a comparison, report-compare.png and
report-side-by-side.png (the first flipped problem, A and B side by side).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers.cdp import Browser, Page  # noqa: E402


def shoot(page: Page, selector: str, path: Path, max_height: int = 1400) -> None:
    """PNG of one element (its top ``max_height`` pixels)."""
    box = page.eval(f"(() => {{ const e = document.querySelector({selector!r}), r = e.getBoundingClientRect(); "
                    "return [r.left + scrollX, r.top + scrollY, Math.max(r.width, e.scrollWidth), r.height]; })()")
    x, y, w, h = box
    data = page.send("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": x, "y": y, "width": w, "height": min(h, max_height), "scale": 1},
    })["data"]
    import base64

    path.write_bytes(base64.b64decode(data))
    print(f"wrote {path}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report")
    ap.add_argument("out_dir")
    ap.add_argument("--bench", default=None, help="benchmark tab to show (default: the first)")
    ap.add_argument("--problem", type=int, default=0, help="problem whose drill-down is opened (on the first page)")
    args = ap.parse_args()
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with Browser(width=1280, height=900) as browser:
        page = browser.open(Path(args.report).resolve().as_uri())
        # full-page captures drop the scrollbar; hide it up front so measured boxes stay valid
        page.send("Emulation.setScrollbarsHidden", {"hidden": True})
        page.wait_for("window.nsReport && window.nsReport.ready")
        shoot(page, "body", out / "report-summary.png", max_height=900)
        names = page.eval("Array.from(document.querySelectorAll('.tab')).map(t => t.textContent)")
        bi = names.index(args.bench) - 1 if args.bench else 0
        page.eval(f"nsReport.show('b{bi}')")
        page.wait_for(f"document.querySelectorAll('#panel-b{bi} .plot .main-svg').length >= 3")
        shoot(page, f"#panel-b{bi} .plots", out / "report-plots.png")
        page.eval(f"document.querySelector('#problems-{bi} tr.problem-row[data-idx=\"{args.problem}\"]').click()")
        page.wait_for(f"document.querySelector('#problems-{bi} .detail')")
        page.eval(f"document.querySelector('#problems-{bi} details.reasoning') && "
                  f"(document.querySelector('#problems-{bi} details.reasoning').open = true)")
        shoot(page, f"#panel-b{bi} .problems-block", out / "report-problems.png", max_height=1100)
        if "Comparison" in names:
            page.eval("nsReport.show('compare')")
            page.wait_for("document.querySelectorAll('#panel-compare .plot .main-svg').length >= 1")
            shoot(page, "#panel-compare", out / "report-compare.png", max_height=1000)
            if page.eval("document.querySelector('#panel-compare a.flip') !== null"):  # A and B side by side
                page.eval("document.querySelector('#panel-compare a.flip').click()")
                page.wait_for("document.querySelectorAll('#panel-compare .side-by-side .side-col').length == 2")
                shoot(page, "#panel-compare .side-by-side", out / "report-side-by-side.png", max_height=1100)
        errors = page.errors()
        if errors:
            print("console errors:", *errors, sep="\n  ")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
