"""Reads for pages: one module a page, querysets and plain data built for it, queries
done once. Callers import from here."""

from trains.selectors.applications import (
    application_releases,
    applications_for,
    turnovers_waiting,
)
from trains.selectors.calendar import CalendarEntry, calendar_entries
from trains.selectors.dashboard import (
    DEPLOYED_STATES,
    HISTORY_PAGE,
    Dashboard,
    dashboard_train,
    history_page,
    train_dashboard,
)
from trains.selectors.inbox import (
    InboxItem,
    decided,
    inbox,
    inbox_summary,
    pending_requirements,
)
from trains.selectors.lists import ListRow, list_rows, train_list

__all__ = [
    "DEPLOYED_STATES",
    "HISTORY_PAGE",
    "CalendarEntry",
    "Dashboard",
    "InboxItem",
    "ListRow",
    "application_releases",
    "applications_for",
    "calendar_entries",
    "decided",
    "dashboard_train",
    "history_page",
    "inbox",
    "inbox_summary",
    "list_rows",
    "pending_requirements",
    "train_dashboard",
    "train_list",
    "turnovers_waiting",
]
