"""`python -m app`: the GUI, or the CLI when given a subcommand."""

import sys

from .cli import main

sys.exit(main())
