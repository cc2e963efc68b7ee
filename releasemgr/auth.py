"""Signing in: Django's ModelBackend, reading the user's groups with the user."""

import json

from django.contrib.auth import backends, get_user_model
from django.core.exceptions import ValidationError
from django.db.models import BooleanField, ExpressionWrapper, OuterRef, Subquery
from django.db.models.functions import JSONObject

from releasemgr import roles
from releasemgr.db import JSONList, Template, once_a_database, planned_each_time
from releasemgr.ids import parse_id


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


# A stand-in user id while the query is compiled: no user has it, and it fits the column.
_STAND_IN = -2_000_000_000


class ModelBackend(backends.ModelBackend):
    """Django's ModelBackend whose `get_user`, run once a request for a signed-in user,
    also reads the user's groups in the same query (a JSON list), so that the roles in
    the navigation and the access rules need no query of their own, and whether the
    user may have an approvals inbox at all (`may_have_inbox`). The query is compiled
    once a database: building it with the ORM cost 2 ms of every page."""

    def get_user(self, user_id):
        User = get_user_model()
        try:
            user_id = parse_id(user_id)  # the session's id, as any id from outside
        except ValidationError:
            return None
        sql, params = once_a_database(("user with groups",), _compile_user).bind(user_id)
        # Planned for this id: whether it is an approver's is read from the indexes' and
        # the columns' statistics (`names_an_approver`).
        with planned_each_time():
            user = next(iter(User._default_manager.raw(sql, params)), None)
        if user is None or not self.user_can_authenticate(user):
            return None
        rows = user.group_rows
        roles.remember_groups(user, json.loads(rows) if isinstance(rows, str) else rows)
        user.may_have_inbox = bool(user.may_have_inbox)  # SQLite's is 0 or 1
        return user


def _compile_user() -> Template:
    from trains.access import names_an_approver

    query = (
        get_user_model()
        ._default_manager.annotate(
            group_rows=groups_of("pk"),
            may_have_inbox=ExpressionWrapper(
                names_an_approver(_STAND_IN), output_field=BooleanField()
            ),
        )
        .filter(pk=_STAND_IN)
    )
    return Template.of(query.query.sql_with_params(), [_STAND_IN], each=True)
