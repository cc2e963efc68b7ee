"""Signing in: Django's ModelBackend, reading the user's groups with the user."""

from django.contrib.auth import backends, get_user_model
from django.db.models import BooleanField, ExpressionWrapper, OuterRef, Subquery
from django.db.models.functions import JSONObject

from releasemgr import roles
from releasemgr.db import JSONList


def groups_of(user_id: OuterRef | str) -> Subquery:
    """The groups of the user `user_id` refers to, as a JSON list of {id, name}: an
    annotation for a query that reads the user anyway."""
    User = get_user_model()
    if isinstance(user_id, str):
        user_id = OuterRef(user_id)
    return Subquery(
        User.groups.through.objects.filter(user_id=user_id)
        .order_by()
        .values("user_id")
        .annotate(rows=JSONList(JSONObject(id="group_id", name="group__name")))
        .values("rows")
    )


class ModelBackend(backends.ModelBackend):
    """Django's ModelBackend whose `get_user`, run once a request for a signed-in user,
    also reads the user's groups in the same query (a JSON list), so that the roles in
    the navigation and the access rules need no query of their own, and whether the
    user may have an approvals inbox at all (`may_have_inbox`)."""

    def get_user(self, user_id):
        from trains.access import names_an_approver

        User = get_user_model()
        user = (
            User._default_manager.annotate(
                group_rows=groups_of("pk"),
                may_have_inbox=ExpressionWrapper(names_an_approver(), output_field=BooleanField()),
            )
            .filter(pk=user_id)
            .first()
        )
        if user is None or not self.user_can_authenticate(user):
            return None
        roles.remember_groups(user, user.group_rows)
        return user
