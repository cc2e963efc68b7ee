"""Errors raised by services. Views and the API turn them into messages and status codes.

They live here, not in an app, so that every app can raise them without importing
another app (dependencies point one way: trains -> applications, approvals).
"""


class ServiceError(Exception):
    """A command was refused; `str(error)` is a sentence a person can act on."""


class NotAllowed(ServiceError):
    """The person may see the object but may not do this to it (HTTP 403)."""


class InvalidState(ServiceError):
    """The object is not in a state that allows this (HTTP 409)."""


class ConcurrentChange(InvalidState):
    """Someone else changed the object first (HTTP 409)."""


class ConditionsUnmet(ServiceError):
    """The state allows it but its conditions do not hold yet (HTTP 422)."""

    def __init__(self, action: str, unmet: list[str]) -> None:
        self.action = action
        self.unmet = list(unmet)
        super().__init__(f"Cannot {action}: " + "; ".join(self.unmet) + ".")
