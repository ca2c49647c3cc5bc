"""`run_gui`: start Qt, style it, show the main window (optionally on a project) and run."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication

from .resources import resource

NO_OPENGL_PLATFORMS = ("offscreen", "minimal")  # QOpenGLWidget is not supported there


def create_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication (existing or new) with Spaceport's name, icon and stylesheet."""
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("Spaceport")
    app.setOrganizationName("Spaceport")
    app.setDesktopFileName("spaceport")
    icon = resource("spaceport.svg")
    if icon:
        app.setWindowIcon(QIcon(str(icon)))
    style = resource("style.qss")
    if style:
        app.setStyleSheet(style.read_text(encoding="utf-8"))
    return app


def opengl_available() -> bool:
    """False on Qt platforms that cannot host the vispy canvas."""
    return QGuiApplication.platformName() not in NO_OPENGL_PLATFORMS


def missing_display() -> str | None:
    """Why Qt could not open a window here (Linux without X or Wayland), or None."""
    if not sys.platform.startswith("linux") or QApplication.instance() is not None:
        return None
    if any(os.environ.get(k) for k in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        return None
    return "no display: neither DISPLAY nor WAYLAND_DISPLAY is set"


def run_gui(project: Path | None = None) -> int:
    """Open the main window (on `project` when given) and run the event loop; the exit code."""
    from .main_window import MainWindow

    problem = missing_display()
    if problem:
        print(f"error: cannot open the Spaceport window ({problem})\n  fix: run it in a desktop "
              "session or under `xvfb-run -a`, or use the headless subcommands "
              "(`spaceport --help`)", file=sys.stderr)
        return 2
    app = create_application()
    # posted, so a signal that comes before the event loop starts still ends it once it runs
    previous = {sig: signal.signal(sig, lambda *_: QTimer.singleShot(0, app.quit))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    window = MainWindow(with_viewer=opengl_available())
    window.show()
    if project is not None:
        window.open_project(Path(project))
    ticker = QTimer()  # Python runs signal handlers only between bytecodes: wake it up
    ticker.timeout.connect(lambda: None)
    ticker.start(200)
    try:
        code = app.exec()
    finally:
        ticker.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    window.shutdown()  # Ctrl+C, SIGTERM or quit(): cancel a run resumably, release the lock
    return code
