"""Screenshot of ns eval's live progress in an 80x24 terminal (docs/img/progress-80x24.png).

Runs ``ns eval --benchmarks=gpqa:16,math-500:16,aime24:16,aime25:16,mmlu-pro:8`` against the
canned-answer stub (tests/helpers/stub_server.py) in a detached tmux pane of 80x24, captures the pane
after ``--after`` seconds (``tmux capture-pane -e``, colours kept) and draws it with Pillow in
DejaVu Sans Mono. Needs tmux and Pillow (not dependencies of skills), and a prepared data folder
for the five benchmarks (``ns prepare_data gpqa math-500 aime24 aime25 mmlu-pro``).

    python scripts/progress_screenshot.py --data_dir DATA [--out docs/img/progress-80x24.png]
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = "gpqa:16,math-500:16,aime24:16,aime25:16,mmlu-pro:8"
COLS, ROWS = 80, 24
PALETTE = {30: "#2e3436", 31: "#cc0000", 32: "#4e9a06", 33: "#c4a000", 34: "#3465a4", 35: "#75507b", 36: "#06989a",
           37: "#d3d7cf", 90: "#555753", 91: "#ef2929", 92: "#8ae234", 93: "#fce94f", 94: "#729fcf", 95: "#ad7fa8",
           96: "#34e2e2", 97: "#eeeeec"}
FG, BG, DIM = "#eeeeec", "#1e1e1e", "#8a8a8a"
SGR = re.compile(r"\x1b\[([0-9;]*)m")


def cells(line: str):
    """(text, colour, bold) runs of one captured line, from its SGR escapes."""
    colour, bold, pos = FG, False, 0
    for m in SGR.finditer(line):
        if m.start() > pos:
            yield line[pos:m.start()], colour, bold
        codes = [int(c) for c in m.group(1).split(";") if c] or [0]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                colour, bold = FG, False
            elif c == 1:
                bold = True
            elif c == 2:
                colour = DIM
            elif c == 22:
                bold = False
            elif c in PALETTE:
                colour = PALETTE[c]
            elif c == 39:
                colour = FG
            elif c == 38 and i + 2 < len(codes) and codes[i + 1] == 5:
                i += 2  # 256-colour foreground: keep the default
            i += 1
        pos = m.end()
    if pos < len(line):
        yield line[pos:], colour, bold


def draw(captured: str, out: Path) -> None:
    from PIL import Image, ImageDraw, ImageFont

    fonts = Path("/usr/share/fonts/truetype/dejavu")
    regular = ImageFont.truetype(str(fonts / "DejaVuSansMono.ttf"), 15)
    bold_font = ImageFont.truetype(str(fonts / "DejaVuSansMono-Bold.ttf"), 15)
    width = int(regular.getlength("M"))
    height = 19
    pad = 12
    image = Image.new("RGB", (COLS * width + 2 * pad, ROWS * height + 2 * pad), BG)
    pen = ImageDraw.Draw(image)
    for row, line in enumerate(captured.split("\n")[:ROWS]):
        col = 0
        for text, colour, bold in cells(line):
            pen.text((pad + col * width, pad + row * height), text, fill=colour, font=bold_font if bold else regular)
            col += len(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data_dir", required=True, help="prepared data of the five benchmarks")
    p.add_argument("--out", default=str(ROOT / "docs" / "img" / "progress-80x24.png"))
    p.add_argument("--after", type=float, default=60.0, help="seconds after the start to capture")
    p.add_argument("--max_samples", type=int, default=30, help="problems per benchmark")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ns-progress-"))
    stub = subprocess.Popen([sys.executable, str(ROOT / "tests" / "helpers" / "stub_server.py"), "--latency", "0.3"],
                            stdout=subprocess.PIPE, text=True)
    try:
        port = int(stub.stdout.readline().split()[1])
        ns = Path(sys.executable).parent / "ns"
        cmd = [str(ns), "eval", "--cluster=local", "--server_type=vllm", f"--server_address=http://127.0.0.1:{port}/v1",
               "--model=stub-model", f"--output_dir={work / 'out'}", f"--data_dir={args.data_dir}",
               f"--benchmarks={BENCHMARKS}", f"++max_samples={args.max_samples}", "++max_concurrent_requests=16"]
        session = f"ns-progress-{port}"
        subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", str(COLS), "-y", str(ROWS),
                        f"TERM=xterm-256color {shlex.join(cmd)}; sleep 3600"], check=True)
        try:
            time.sleep(args.after)
            captured = subprocess.run(["tmux", "capture-pane", "-e", "-p", "-t", session], capture_output=True,
                                      text=True, check=True).stdout
        finally:
            subprocess.run(["tmux", "kill-session", "-t", session], check=False)
        out = Path(args.out)
        draw(captured, out)
        out.with_suffix(".txt").write_text(SGR.sub("", captured).rstrip("\n") + "\n")
        print(f"wrote {out} and {out.with_suffix('.txt')}")
    finally:
        stub.terminate()
        stub.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
