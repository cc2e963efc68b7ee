"""Reads for pages: one module a page, querysets and plain data built for it, queries
done once. Callers import from here."""

from trains.selectors.applications import (
    application_releases,
    applications_for,
    turnovers_waiting,
)
from trains.selectors.calendar import (
    CalendarEntry,
    CalendarMonth,
    calendar_entries,
    calendar_month,
)
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
    badge,
    decided,
    inbox,
    inbox_summary,
    pending_requirements,
)
from trains.selectors.lists import (
    CappedPaginator,
    ListRow,
    Needs,
    list_rows,
    needs_my_action,
    page_rows,
    train_list,
    trains_shown,
    with_health,
)
from trains.selectors.move import move_targets
from trains.selectors.templates import TemplatePage, template_list, template_page

__all__ = [
    "TemplatePage",
    "template_list",
    "template_page",
    "DEPLOYED_STATES",
    "HISTORY_PAGE",
    "CalendarEntry",
    "CalendarMonth",
    "Dashboard",
    "InboxItem",
    "badge",
    "ListRow",
    "Needs",
    "application_releases",
    "applications_for",
    "calendar_entries",
    "calendar_month",
    "decided",
    "dashboard_train",
    "history_page",
    "inbox",
    "inbox_summary",
    "list_rows",
    "move_targets",
    "CappedPaginator",
    "page_rows",
    "needs_my_action",
    "pending_requirements",
    "train_dashboard",
    "train_list",
    "trains_shown",
    "turnovers_waiting",
    "with_health",
]
