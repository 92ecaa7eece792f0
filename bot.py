"""Entry point: `python bot.py` (see `bot.cli` and README.md)."""

import sys

if __name__ == "__main__":
    # Imported here, not above: the digest chart's process (multiprocessing's spawn) runs this
    # file again as `__mp_main__`, and needs none of the bot (0.4 s of imports).
    from bot.cli import main

    sys.exit(main())
