"""The command gate: a ceiling on commands in flight, refusing beyond it (bot/admission.py)."""

from __future__ import annotations

import pytest

from bot.admission import CommandGate


def test_admits_up_to_the_limit_then_refuses_and_counts_refusals() -> None:
    gate = CommandGate(3)
    assert [gate.try_enter() for _ in range(5)] == [True, True, True, False, False]
    assert (gate.running, gate.refused) == (3, 2)
    assert "3 commands in progress" in gate.busy_message()


def test_a_command_that_leaves_makes_room_for_the_next() -> None:
    gate = CommandGate(1)
    assert gate.try_enter()
    assert not gate.try_enter()
    gate.leave()
    assert gate.try_enter()
    assert (gate.running, gate.refused) == (1, 1)


def test_unbalanced_leave_and_a_zero_limit_are_programming_errors() -> None:
    with pytest.raises(RuntimeError):
        CommandGate(2).leave()
    with pytest.raises(ValueError):
        CommandGate(0)
