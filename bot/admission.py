"""How many slash commands the bot runs at once.

One bot process has one core's worth of Python (asyncio and the GIL). Offered more commands
than it can finish, it used to start them all: each waited for a database connection holding
its interaction, parsed options and half-built replies, so memory grew without bound (1.2 GB in
a minute at 100 commands/s on the 1M-indicator bench) and every answer came too late for
Discord's 3-second deadline ("The application did not respond"). Refusing at once beyond a
limit answers everyone within milliseconds and lets the commands already running finish in
time (bench/ANALYSIS.md has the figures).
"""

from __future__ import annotations

BUSY_MESSAGE = (
    "The bot is busy right now ({running} commands in progress), so nothing was done. "
    "Please try again in a minute."
)


class CommandGate:
    """A counter of commands in flight with a ceiling (no waiting queue: a queued command
    would still miss Discord's deadline)."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the limit of commands in flight must be at least 1")
        self.limit = limit
        self.running = 0
        self.refused = 0  # since start-up, for the log line that reports a burst of refusals

    def try_enter(self) -> bool:
        if self.running >= self.limit:
            self.refused += 1
            return False
        self.running += 1
        return True

    def leave(self) -> None:
        if self.running <= 0:
            raise RuntimeError("leave() without a matching try_enter()")
        self.running -= 1

    def busy_message(self) -> str:
        return BUSY_MESSAGE.format(running=self.running)
