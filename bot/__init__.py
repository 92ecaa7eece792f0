"""alliance-bot: the Discord bot of an anti-counterfeiting alliance."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("alliance-bot")
except PackageNotFoundError:  # running from a source checkout that was never installed
    __version__ = "0.0.0+source"
