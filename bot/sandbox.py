"""Offline sandbox (placeholder until the sandbox lands)."""

from __future__ import annotations

from bot.settings import Settings


async def run_sandbox(settings: Settings, *, port: int | None = None) -> None:
    raise SystemExit("The offline sandbox is not built yet.")
