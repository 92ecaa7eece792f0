"""Domain errors. Their message is written for the person who ran the command.

Services raise these; the central app-command error handler shows the message ephemerally.
Anything that is not an `AllianceError` is a bug: the user sees a reference, the log the trace.
"""


class AllianceError(Exception):
    """A refusal or failure whose message is safe and useful to show to the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(AllianceError):
    """The thing named does not exist (or the user may not know it exists)."""


class PermissionDenied(AllianceError):
    """The user lacks a role or link; the message names which."""


class InvalidInput(AllianceError):
    """The input cannot be used as given; the message says why."""


class Conflict(AllianceError):
    """The action clashes with existing state (a duplicate, an illegal transition)."""

