"""Entry script of the PyInstaller bundle: the same `spaceport` command (GUI or subcommands)."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
