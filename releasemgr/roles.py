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


def user_roles(user: AbstractBaseUser | AnonymousUser) -> frozenset[str]:
    """The role groups of a user, read once per user object and cached on it."""
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_releasemgr_roles", None)
    if cached is None:
        cached = frozenset(user.groups.filter(name__in=ALL_ROLES).values_list("name", flat=True))
        user._releasemgr_roles = cached
    return cached


def has_role(user: AbstractBaseUser | AnonymousUser, role: str) -> bool:
    return user.is_authenticated and (user.is_superuser or role in user_roles(user))
