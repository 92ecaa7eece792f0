"""The time source services use, so tests and the sandbox can run on simulated time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Aware UTC now. The bot passes `discord.utils.utcnow`, which SimCord controls in tests."""
    return datetime.now(UTC)
