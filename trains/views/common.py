"""What the views share: running a service and turning its refusal into a message."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from releasemgr.exceptions import ServiceError


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def attempt(request: HttpRequest, call: Callable[[], object], success: str = "") -> bool:
    """Run a service call; on refusal put its reason in the messages and return False."""
    try:
        call()
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return False
    except ServiceError as error:
        messages.error(request, str(error))
        return False
    if success:
        messages.success(request, success)
    return True


def form_errors(form) -> str:
    return " ".join(
        f"{form.fields[f].label or f.replace('_', ' ').capitalize()}: {' '.join(errs)}"
        if f in form.fields
        else " ".join(errs)
        for f, errs in form.errors.items()
    )
