"""Who may see and do what with a train. Every view, partial and API endpoint uses these.

A train is visible to: its primary release manager; whoever was granted view or
manage on it (a user or a group, through guardian); its assigned release engineers;
the product owners of its application releases; and the approvers of its gates.
A train someone may not see is a 404 to them, never a 403.
"""

from __future__ import annotations

import operator
from functools import reduce

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from applications.models import ApplicationRelease
from approvals.models import ApprovalRequirement
from releasemgr import roles
from releasemgr.db import id_list
from trains.choices import PhaseKind
from trains.models import (
    ReleaseTrain,
    ReleaseTrainGroupObjectPermission,
    ReleaseTrainUserObjectPermission,
)

VIEW = "view_releasetrain"
MANAGE = "manage_releasetrain"

User = AbstractBaseUser | AnonymousUser


def trains_visible_to(user: User) -> QuerySet[ReleaseTrain]:
    """The trains a user may see, as one query (subqueries, no duplicate rows)."""
    if not user.is_authenticated:
        return ReleaseTrain.objects.none()
    if user.is_superuser:
        return ReleaseTrain.objects.all()
    return ReleaseTrain.objects.filter(
        reduce(
            operator.or_,
            (Q(pk__in=rows.values(field)) for rows, field in _rules(user)),
            Q(primary_manager=user),
        )
    )


def _rules(user: AbstractBaseUser) -> list[tuple[QuerySet, str]]:
    """How a user may see a train other than by leading it: each a queryset of rows and
    the field in them that names the train. The user's groups go in as a list of ids
    (read with the user), not a join: a shorter statement to plan, and index lookups."""
    groups = sorted(roles.group_ids(user))
    granted = Q(permission__codename__in=[VIEW, MANAGE])
    return [
        (ReleaseTrainUserObjectPermission.objects.filter(granted, user=user), "content_object_id"),
        (
            ReleaseTrainGroupObjectPermission.objects.filter(granted, group_id__in=groups),
            "content_object_id",
        ),
        (ApplicationRelease.objects.filter(application__product_owner=user), "train_id"),
        (ApprovalRequirement.objects.filter(Q(user=user) | Q(group_id__in=groups)), "train_id"),
        (ReleaseTrain.release_engineers.through.objects.filter(user=user), "releasetrain_id"),
    ]


def _sees_this_train(user: AbstractBaseUser) -> Q:
    """The same rules as a condition on one train row, each an EXISTS of index lookups
    on that train: for reading one train, where the set-wide form of
    `trains_visible_to` costs more to plan than to run."""
    return reduce(
        operator.or_,
        (Q(Exists(rows.filter(**{field: OuterRef("pk")}))) for rows, field in _rules(user)),
        Q(primary_manager=user),
    )


def can_view(user: User, train: ReleaseTrain) -> bool:
    """Whether `trains_visible_to(user)` holds this train; no query for its primary
    manager or a superuser."""
    if not user.is_authenticated:
        return False
    if user.is_superuser or train.primary_manager_id == user.pk:
        return True
    return ReleaseTrain.objects.filter(_sees_this_train(user), pk=train.pk).exists()


def can_manage(user: User, train: ReleaseTrain) -> bool:
    """Release managers manage the trains they lead or were granted manage on."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    if not roles.has_role(user, roles.RELEASE_MANAGERS):
        return False
    if train.primary_manager_id == user.pk:
        return True
    return user.has_perm(f"trains.{MANAGE}", train)


def can_deploy(user: User, train: ReleaseTrain) -> bool:
    """The managers of a train, its assigned engineers, or any release engineer when
    none is assigned."""
    if can_manage(user, train):
        return True
    if not roles.has_role(user, roles.RELEASE_ENGINEERS):
        return False
    assigned = list(train.release_engineers.values_list("pk", flat=True))
    return user.pk in assigned if assigned else can_view(user, train)


def can_check_criterion(user: User, train: ReleaseTrain, phase: str) -> bool:
    """Managers tick any criterion; QA ticks the verification phase's criteria."""
    if can_manage(user, train):
        return True
    return phase == PhaseKind.VERIFICATION and roles.has_role(user, roles.QA)


def get_train_for_user(user: User, pk: int, *, need: str = "view") -> ReleaseTrain:
    """The train, if the user may see it (else 404) and may `need` it (else 403).

    need: "view", "manage" or "deploy".
    """
    # One query either way. Release managers mostly open the trains they lead: the train
    # by its key, and its primary manager needs no rule (another manager's train costs a
    # second query). Anyone else: the rules go into the same query.
    if not user.is_authenticated:
        raise Http404("No such train.")
    trains = ReleaseTrain.objects.select_related("primary_manager")
    checked_in_query = not user.is_superuser and not roles.has_role(user, roles.RELEASE_MANAGERS)
    if checked_in_query:
        trains = trains.filter(_sees_this_train(user))
    try:
        train = trains.get(pk=pk)
    except (ReleaseTrain.DoesNotExist, ValueError, TypeError):
        raise Http404("No such train.") from None
    if not checked_in_query and not can_view(user, train):
        raise Http404("No such train.")
    if need == "manage" and not can_manage(user, train):
        raise PermissionDenied("Only the train's release managers can do this.")
    if need == "deploy" and not can_deploy(user, train):
        raise PermissionDenied("Only the train's release managers and engineers can deploy it.")
    return train


def users_who_can_view(train: ReleaseTrain) -> QuerySet:
    """The active people who may see a train, by the rules of `trains_visible_to`, in one
    query. Superusers see everything but are not counted unless a rule names them."""
    perms = [VIEW, MANAGE]
    UserModel = get_user_model()
    in_groups = UserModel.groups.through.objects
    granted_user = ReleaseTrainUserObjectPermission.objects.filter(
        content_object=train, permission__codename__in=perms
    ).values("user_id")
    granted_group = ReleaseTrainGroupObjectPermission.objects.filter(
        content_object=train, permission__codename__in=perms
    ).values("group_id")
    owners = ApplicationRelease.objects.filter(train=train).values("application__product_owner")
    approver_users = ApprovalRequirement.objects.filter(train=train, user__isnull=False)
    approver_groups = ApprovalRequirement.objects.filter(train=train, group__isnull=False)
    engineers = ReleaseTrain.release_engineers.through.objects.filter(releasetrain=train)
    return UserModel.objects.filter(
        Q(pk=train.primary_manager_id)
        | Q(pk__in=granted_user)
        | Q(pk__in=in_groups.filter(group_id__in=granted_group).values("user_id"))
        | Q(pk__in=owners)
        | Q(pk__in=approver_users.values("user_id"))
        | Q(
            pk__in=in_groups.filter(group_id__in=approver_groups.values("group_id")).values(
                "user_id"
            )
        )
        | Q(pk__in=engineers.values("user_id")),
        is_active=True,
    )


def viewer_pairs(train_ids, *, among) -> QuerySet:
    """(train id, user id) of the active people among `among` (user ids) who may see
    each of these trains, by the rules of `users_who_can_view`, for many trains in one
    query (pairs may repeat)."""
    perms = [VIEW, MANAGE]
    trains, among = id_list(train_ids), id_list(among)
    requirements = ApprovalRequirement.objects.filter(train_id__in=trains)
    parts = [
        ReleaseTrain.objects.filter(
            pk__in=trains, primary_manager__in=among, primary_manager__is_active=True
        ).values_list("pk", "primary_manager_id"),
        ReleaseTrainUserObjectPermission.objects.filter(
            content_object_id__in=trains,
            permission__codename__in=perms,
            user__in=among,
            user__is_active=True,
        ).values_list("content_object_id", "user_id"),
        ReleaseTrainGroupObjectPermission.objects.filter(
            content_object_id__in=trains,
            permission__codename__in=perms,
            group__user__in=among,
            group__user__is_active=True,
        ).values_list("content_object_id", "group__user"),
        ApplicationRelease.objects.filter(
            train_id__in=trains,
            application__product_owner__in=among,
            application__product_owner__is_active=True,
        ).values_list("train_id", "application__product_owner_id"),
        requirements.filter(user__in=among, user__is_active=True).values_list(
            "train_id", "user_id"
        ),
        requirements.filter(group__user__in=among, group__user__is_active=True).values_list(
            "train_id", "group__user"
        ),
        ReleaseTrain.release_engineers.through.objects.filter(
            releasetrain_id__in=trains, user__in=among, user__is_active=True
        ).values_list("releasetrain_id", "user_id"),
    ]
    first, *rest = (part.order_by() for part in parts)
    return first.union(*rest, all=True)


def trains_managed_by(user: User) -> QuerySet[ReleaseTrain]:
    """The trains `can_manage` allows, as one query."""
    if not user.is_authenticated:
        return ReleaseTrain.objects.none()
    if user.is_superuser:
        return ReleaseTrain.objects.all()
    if not roles.has_role(user, roles.RELEASE_MANAGERS):
        return ReleaseTrain.objects.none()
    granted_user = ReleaseTrainUserObjectPermission.objects.filter(
        user=user, permission__codename=MANAGE
    ).values("content_object_id")
    granted_group = ReleaseTrainGroupObjectPermission.objects.filter(
        group__user=user, permission__codename=MANAGE
    ).values("content_object_id")
    return ReleaseTrain.objects.filter(
        Q(primary_manager=user) | Q(pk__in=granted_user) | Q(pk__in=granted_group)
    )
