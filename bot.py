"""Entry point: `python bot.py` (see `bot.cli` and README.md)."""

import sys

from bot.cli import main

if __name__ == "__main__":
    sys.exit(main())
