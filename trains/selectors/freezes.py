"""The freeze windows page: current and coming windows, past ones, and their history."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from trains.models import FreezeEvent, FreezeWindow

PAST_SHOWN = 20
HISTORY_SHOWN = 30


@dataclass
class FreezePage:
    current: list[FreezeWindow]
    past: list[FreezeWindow]
    history: list[FreezeEvent]


def freeze_page() -> FreezePage:
    """Three queries: windows not over yet, the latest past ones, the latest history."""
    today = timezone.localdate()
    return FreezePage(
        current=list(FreezeWindow.objects.filter(end__gte=today).order_by("start", "id")),
        past=list(FreezeWindow.objects.filter(end__lt=today).order_by("-end", "-id")[:PAST_SHOWN]),
        history=list(FreezeEvent.objects.select_related("actor")[:HISTORY_SHOWN]),
    )
