"""Freeze windows: organisation-wide days when no train deploys (trains.freezes), kept by
staff and release managers (`access.may_keep_freezes`); every change has a history row."""

from __future__ import annotations

from datetime import date

from django.db import transaction

from releasemgr.exceptions import NotAllowed
from trains import access, freezes
from trains.models import FreezeEvent, FreezeWindow
from trains.services.common import User, clean_reason

REFUSAL = "Only staff and release managers keep the freeze windows."


def _check(by: User) -> None:
    if not access.may_keep_freezes(by):
        raise NotAllowed(REFUSAL)


def _words(window: FreezeWindow) -> str:
    return f"{window.label}" + (f": {window.reason}" if window.reason else "")


def freeze_create(*, by: User, name: str, start: date, end: date, reason: str = "") -> FreezeWindow:
    _check(by)
    window = FreezeWindow(
        name=name.strip(), start=start, end=end, reason=reason.strip(), created_by=by
    )
    window.full_clean()
    with transaction.atomic():
        window.save()
        FreezeEvent.objects.create(window_id=window.pk, actor=by, message=f"Added {_words(window)}")
    freezes.forget()
    return window


def freeze_update(
    *, window: FreezeWindow, by: User, name: str, start: date, end: date, reason: str = ""
) -> FreezeWindow:
    _check(by)
    with transaction.atomic():
        window = FreezeWindow.objects.select_for_update().get(pk=window.pk)
        before = _words(window)
        window.name, window.start, window.end, window.reason = (
            name.strip(),
            start,
            end,
            reason.strip(),
        )
        window.full_clean()
        window.save()
        after = _words(window)
        if after != before:
            FreezeEvent.objects.create(
                window_id=window.pk, actor=by, message=f"Changed {before} → {after}"
            )
    freezes.forget()
    return window


def freeze_delete(*, window: FreezeWindow, by: User, reason: str) -> None:
    _check(by)
    reason = clean_reason(reason, "remove the freeze window")
    with transaction.atomic():
        window = FreezeWindow.objects.select_for_update().get(pk=window.pk)
        FreezeEvent.objects.create(
            window_id=window.pk, actor=by, message=f"Removed {_words(window)}. Why: {reason}"
        )
        window.delete()
    freezes.forget()
