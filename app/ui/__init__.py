"""The desktop front end (PySide6): main window, charts, log, 3D view, the pipeline worker."""
