"""Smoke test of the built bundle (not run in CI): start dist/spaceport/spaceport on the sample
project under its own Xvfb, time until the project's window is up, save a screenshot, quit it
with SIGTERM as a desktop session would, and print the bundle size and start time.

    python packaging/smoke_bundle.py [--project PROJECT] [--out screenshots/bundle.png] [--baseline]

Without --project it makes one with the bundle's own CLI (`spaceport demo --until sfm`), which
also proves pycolmap runs from the bundle. --baseline also times `python -m app gui` from the
source checkout in the same run, so the start time is reported as a ratio to it. Needs Xvfb and
xwininfo (x11-utils), and Pillow with XCB (its Linux wheels have it) for the screenshot.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "dist" / "spaceport"
EXE = BUNDLE / "spaceport"
TIMEOUT_S = 180


def folder_bytes(folder: Path) -> int:
    """Total size of the files under `folder` (links not followed)."""
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def start_xvfb() -> tuple[subprocess.Popen, str]:
    """An Xvfb on a free display number; (process, ':N')."""
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x1024x24",
                             "-nolisten", "tcp"], pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    if not number:
        raise SystemExit("error: Xvfb did not start")
    return xvfb, f":{number}"


def window_titles(display: str) -> list[str]:
    """Titles of the display's windows (xwininfo -root -tree)."""
    out = subprocess.run(["xwininfo", "-root", "-tree", "-display", display],
                         capture_output=True, text=True).stdout
    return re.findall(r'^\s+0x[0-9a-f]+ "([^"]*)"', out, re.M)


def make_project(where: Path) -> Path:
    """The sample project, made by the bundle: sample flight, ingest and SfM."""
    print(f"making the sample project in {where} with the bundle's CLI ...", flush=True)
    subprocess.run([str(EXE), "demo", "--dir", str(where), "--until", "sfm", "--images", "12"],
                   check=True, stdout=subprocess.DEVNULL)
    return where / "project"


def open_window(command: list[str], project: Path, display: str,
                shot: Path | None) -> tuple[float, int, str]:
    """Start `command gui PROJECT` on `display`; (seconds to its titled window, exit code after
    SIGTERM, its output), with a screenshot to `shot` once it has drawn."""
    env = {**os.environ, "DISPLAY": display}
    env.pop("QT_QPA_PLATFORM", None)
    t0 = time.perf_counter()
    app = subprocess.Popen([*command, "gui", str(project)], env=env, cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    title = f"Spaceport - {project.resolve().name}"
    while title not in window_titles(display):
        if app.poll() is not None:
            print(app.stdout.read() if app.stdout else "")
            raise SystemExit(f"error: {command[0]} exited with {app.returncode} before its window")
        if time.perf_counter() - t0 > TIMEOUT_S:
            app.kill()
            raise SystemExit(f"error: no window titled {title!r} within {TIMEOUT_S} s")
        time.sleep(0.05)
    started = time.perf_counter() - t0
    time.sleep(3.0)  # let the charts, the thumbnails and the 3D view draw
    if shot is not None:
        from PIL import ImageGrab

        shot.parent.mkdir(parents=True, exist_ok=True)
        ImageGrab.grab(xdisplay=display).save(shot)
    app.send_signal(signal.SIGTERM)
    code = app.wait(timeout=60)
    return started, code, app.stdout.read() if app.stdout else ""


def main() -> int:
    """Run the smoke test; 0 when the window came up on the project and quit cleanly."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots" / "bundle.png")
    parser.add_argument("--baseline", action="store_true",
                        help="also time the source checkout's `python -m app gui`")
    args = parser.parse_args()
    if not EXE.exists():
        raise SystemExit(f"error: {EXE} is missing; build it with packaging/build_bundle.sh")
    if not shutil.which("xwininfo"):
        raise SystemExit("error: xwininfo is missing; apt-get install x11-utils")
    project = args.project or make_project(Path(tempfile.mkdtemp(prefix="spaceport-smoke-")))
    xvfb, display = start_xvfb()
    try:
        started, code, log = open_window([str(EXE)], project, display, args.out)
        baseline = open_window([sys.executable, "-m", "app"], project, display, None)[0] \
            if args.baseline else None
    finally:
        xvfb.terminate()
    print(log[-2000:])
    ratio = f" ({started / baseline:.2f}x the source checkout's {baseline:.1f} s, same run)" \
        if baseline else ""
    print(f"bundle {BUNDLE}: {folder_bytes(BUNDLE) / 1e6:.0f} MB\n"
          f"window up on {project} in {started:.1f} s (launch to title){ratio}\n"
          f"screenshot {args.out}\nexit code after SIGTERM: {code}")
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
