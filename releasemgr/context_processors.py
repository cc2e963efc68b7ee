from django.http import HttpRequest

from releasemgr import roles


def navigation(request: HttpRequest) -> dict:
    """What the navigation bar offers this person, with the count of decisions waiting."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": {"items": [], "user_items": [], "roles": []}}
    from trains.access import may_create_trains, may_keep_freezes, may_see_metrics
    from trains.selectors import badge, inbox_summary
    from trains.selectors.applications import uses_applications

    path = request.path
    items = [{"label": "Trains", "url": "/trains/"}]
    if may_create_trains(user):
        items.append({"label": "New train", "url": "/trains/new/"})
        items.append({"label": "Templates", "url": "/templates/"})
    # Approvals: for whoever has anything to decide or has decided, whatever their role.
    # The inbox page knows its count; other pages ask once, and only people some approval
    # requirement names, or who decided before, need asking (read with the user).
    summary = getattr(request, "inbox_summary", None)
    if summary is None and getattr(user, "may_have_inbox", True):
        summary = inbox_summary(user=user)
    if summary and (summary[0] or summary[1]):
        items.append({"label": "Approvals", "url": "/approvals/", "badge": badge(summary[0])})
    if uses_applications(user):
        items.append(
            {
                "label": "Applications",
                "url": "/applications/",
                "badge": _applications_badge(request),
            }
        )
    items.append({"label": "Calendar", "url": "/calendar/"})
    # Everyone may read the freeze windows (the calendar's bars link there); the
    # navigation leads whoever keeps them.
    if may_keep_freezes(user):
        items.append({"label": "Freezes", "url": "/freezes/"})
    items.append({"label": "Portfolio", "url": "/portfolio/"})
    if may_see_metrics(user):
        items.append({"label": "Metrics", "url": "/metrics/"})
    if user.is_staff or roles.has_role(user, roles.RELEASE_MANAGERS):
        items.append({"label": "Sent mail", "url": "/notifications/sent/"})
    if user.is_staff:
        items.append({"label": "Admin", "url": "/admin/"})
    user_items = [
        {"label": "Notifications", "url": "/notifications/"},
        {"label": "Profile", "url": "/profile/"},
    ]
    # The longest matching address wins: /trains/new/ is "New train", not "Trains".
    every = items + user_items
    current = max((i["url"] for i in every if path.startswith(i["url"])), key=len, default=None)
    for item in every:
        item["active"] = item["url"] == current
    labels = [roles.ROLE_LABELS[r] for r in roles.ALL_ROLES if r in roles.user_roles(user)]
    return {"nav": {"items": items, "user_items": user_items, "roles": labels}}


def _applications_badge(request: HttpRequest) -> int:
    """What waits for this person under Applications: turnovers to accept or reject (release
    engineers; the applications page knows its count) and their releases to move on
    (product owners). One query for each role held, none for the others."""
    from trains.selectors import turnovers_waiting
    from trains.selectors.applications import releases_to_finish

    user = request.user
    waiting = 0
    if roles.has_role(user, roles.RELEASE_ENGINEERS):
        waiting = getattr(request, "turnovers_waiting", None)
        if waiting is None:
            waiting = turnovers_waiting(user=user).count()
    return waiting + releases_to_finish(user=user)
