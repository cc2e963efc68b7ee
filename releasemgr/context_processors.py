from django.http import HttpRequest

from releasemgr import roles


def navigation(request: HttpRequest) -> dict:
    """What the navigation bar offers this person, with the count of decisions waiting."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": {"items": [], "user_items": [], "roles": []}}
    from trains.selectors import inbox_count

    path = request.path
    items = [{"label": "Trains", "url": "/trains/"}]
    if roles.has_role(user, roles.RELEASE_MANAGERS):
        items.append({"label": "New train", "url": "/trains/new/"})
    if roles.has_role(user, roles.EXECUTIVES) or roles.has_role(user, roles.RELEASE_MANAGERS):
        # The inbox page already knows its count; other pages ask once.
        count = getattr(request, "inbox_count", None)
        if count is None:
            count = inbox_count(user=user)
        items.append({"label": "Approvals", "url": "/approvals/", "badge": count})
    if any(
        roles.has_role(user, r)
        for r in (roles.PRODUCT_OWNERS, roles.RELEASE_ENGINEERS, roles.RELEASE_MANAGERS)
    ):
        items.append({"label": "Applications", "url": "/applications/"})
    items.append({"label": "Calendar", "url": "/calendar/"})
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
