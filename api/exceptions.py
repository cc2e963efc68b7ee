"""Service errors become JSON a person can act on, with the status codes of the API."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from releasemgr.exceptions import ConditionsUnmet, InvalidState, NotAllowed, ServiceError


def validation_errors(error: DjangoValidationError) -> dict[str, list[str]]:
    """A Django ValidationError as DRF's per-field shape; schedule fields nest under
    phase_ends (`phase_verification` -> `phase_ends.verification`)."""
    if not hasattr(error, "error_dict"):
        return {"non_field_errors": error.messages}
    body: dict = {}
    for field, messages in error.message_dict.items():
        if field == "__all__":
            body.setdefault("non_field_errors", []).extend(messages)
        elif field.startswith("phase_"):
            body.setdefault("phase_ends", {})[field.removeprefix("phase_")] = messages
        else:
            body[field] = messages
    return body


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, ConditionsUnmet):
        return Response(
            {"detail": str(exc), "unmet": exc.unmet}, status=status.HTTP_422_UNPROCESSABLE_ENTITY
        )
    if isinstance(exc, NotAllowed):
        return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, InvalidState):  # and ConcurrentChange
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, ServiceError):
        return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoValidationError):
        return Response(validation_errors(exc), status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
