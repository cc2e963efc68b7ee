"""Role groups. Role rights come from group membership; per-train rights from guardian."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

RELEASE_MANAGERS = "release_managers"
PRODUCT_OWNERS = "product_owners"
QA = "qa"
EXECUTIVES = "executives"
RELEASE_ENGINEERS = "release_engineers"

ALL_ROLES = (RELEASE_MANAGERS, PRODUCT_OWNERS, QA, EXECUTIVES, RELEASE_ENGINEERS)

ROLE_LABELS = {
    RELEASE_MANAGERS: "Release manager",
    PRODUCT_OWNERS: "Product owner",
    QA: "QA",
    EXECUTIVES: "Executive",
    RELEASE_ENGINEERS: "Release engineer",
}
# A role's group named as a whole (an approver, a choice in a form): "Product owners".
ROLE_GROUP_LABELS = {
    RELEASE_MANAGERS: "Release managers",
    PRODUCT_OWNERS: "Product owners",
    QA: "QA",
    EXECUTIVES: "Executives",
    RELEASE_ENGINEERS: "Release engineers",
}


def group_label(name: str) -> str:
    """A group as people read it: a role's group by its label, any other by its name."""
    return ROLE_GROUP_LABELS.get(name, name)


def _groups(user: AbstractBaseUser) -> dict[int, str]:
    """Every group of the user, id -> name: read once per user object (one query per
    request serves the roles, the inbox and the approvals a group may decide)."""
    cached = getattr(user, "_releasemgr_groups", None)
    if cached is None:
        cached = dict(user.groups.values_list("id", "name"))
        user._releasemgr_groups = cached
    return cached


def remember_groups(user: AbstractBaseUser, rows: list[dict] | None) -> None:
    """Groups read with the user ({id, name} rows, `releasemgr.auth.groups_of`)."""
    user._releasemgr_groups = {row["id"]: row["name"] for row in rows or []}


def user_roles(user: AbstractBaseUser | AnonymousUser) -> frozenset[str]:
    """The role groups of a user."""
    if not user.is_authenticated:
        return frozenset()
    return frozenset(name for name in _groups(user).values() if name in ALL_ROLES)


def group_ids(user: AbstractBaseUser | AnonymousUser) -> frozenset[int]:
    """The ids of every group the user is in, role groups or not."""
    if not user.is_authenticated:
        return frozenset()
    return frozenset(_groups(user))


def has_role(user: AbstractBaseUser | AnonymousUser, role: str) -> bool:
    return user.is_authenticated and (user.is_superuser or role in user_roles(user))
