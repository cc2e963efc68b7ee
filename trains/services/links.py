"""Deciding from the e-mail: the signed Approve and Reject links of an approval-request
mail, and using one.

A link is signed (`django.core.signing`) and names its approver, the requirement, the
gate's round and the verdict; it expires after `APPROVAL_LINK_MAX_AGE_DAYS`. The two
links of one mail share one link id, and a used id is a row of `DecisionLinkUse`, unique:
a link decides once, however many people or tabs press it at the same moment.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from approvals.models import ApprovalDecision, ApprovalRequirement, Gate
from releasemgr.exceptions import ServiceError
from releasemgr.people import name_of
from trains import access, workflow
from trains.models import DecisionLinkUse, ReleaseTrain
from trains.services.common import User
from trains.services.gates import decision_record

SALT = "releasemgr.trains.decision-link"


class LinkRefused(ServiceError):
    """The link cannot decide: `title` heads the page, `str(error)` says why and what to
    do instead, `status` is the HTTP status of that page."""

    def __init__(self, title: str, message: str, *, status: int) -> None:
        super().__init__(message)
        self.title = title
        self.status = status


@dataclass(frozen=True)
class DecisionLink:
    """What a link says, once its signature holds."""

    link_id: str
    user_id: int
    requirement_id: int
    round: int
    approve: bool
    signed_at: datetime


def max_age() -> timedelta:
    return timedelta(days=settings.APPROVAL_LINK_MAX_AGE_DAYS)


def decision_link_ids() -> str:
    """A new link id, shared by the Approve and Reject links of one mail."""
    return secrets.token_hex(16)


def decision_link_url(
    *, link_id: str, requirement: ApprovalRequirement, user: User, round: int, approve: bool
) -> str:
    """The path of one signed link (the mail makes it absolute)."""
    token = signing.dumps(
        {"l": link_id, "u": user.pk, "q": requirement.pk, "n": round, "a": int(approve)},
        salt=SALT,
        compress=True,
    )
    return reverse("decision_link", args=[token])


def decision_link_read(token: str) -> DecisionLink:
    """The link's content, if it is signed by us and not expired."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=max_age())
        # A signed value reads "<value>:<timestamp>:<signature>"; its signature held.
        signed_at = datetime.fromtimestamp(signing.b62_decode(token.rsplit(":", 2)[1]), tz=UTC)
    except signing.SignatureExpired:
        raise LinkRefused(
            "This link has expired",
            f"Approve and reject links stay valid for {settings.APPROVAL_LINK_MAX_AGE_DAYS} "
            "days. Decide from your approvals inbox instead.",
            status=410,
        ) from None
    except (signing.BadSignature, ValueError, TypeError):
        raise LinkRefused(
            "This link is not valid",
            "It was changed or cut short on its way (copy the whole link from the mail), "
            "or it was not made here. Decide from your approvals inbox instead.",
            status=400,
        ) from None
    try:
        return DecisionLink(
            link_id=str(payload["l"]),
            user_id=int(payload["u"]),
            requirement_id=int(payload["q"]),
            round=int(payload["n"]),
            approve=bool(payload["a"]),
            signed_at=signed_at,
        )
    except (KeyError, TypeError, ValueError):
        raise LinkRefused(
            "This link is not valid", "Decide from your approvals inbox instead.", status=400
        ) from None


def _refuse_stale(link: DecisionLink, requirement: ApprovalRequirement, train: ReleaseTrain):
    gate = Gate(requirement.gate)
    waiting = train.state == workflow.GATE_STATE[gate]
    if waiting and train.round_for(gate) == link.round:
        return
    now = (
        f"it waits for {gate.label.lower()} again, in round {train.round_for(gate)}"
        if waiting
        else f"it is now in {train.get_state_display().lower()}"
    )
    raise LinkRefused(
        "This request has moved on",
        f"The link was for round {link.round} of {train.name}'s {gate.label.lower()}; "
        f"{now}. Nothing was changed. Open the train to see where it stands.",
        status=409,
    )


@dataclass(frozen=True)
class LinkCheck:
    """A link that may decide now: who decides, on what, in which train."""

    link: DecisionLink
    user: User
    requirement: ApprovalRequirement
    train: ReleaseTrain

    @property
    def expires_at(self) -> datetime:
        return self.link.signed_at + max_age()


def decision_link_check(*, token: str, signed_in: User | None) -> LinkCheck:
    """Read the link and refuse it unless it may decide now: signed and fresh, not used,
    opened by its approver (or by nobody signed in), for the round the gate is in, by
    someone who may still decide it and has not yet."""
    link = decision_link_read(token)
    used = DecisionLinkUse.objects.filter(link_id=link.link_id).first()
    if used is not None:
        verdict = "approve" if used.approve else "reject"
        raise LinkRefused(
            "This link was already used",
            f"It was used to {verdict} on {timezone.localtime(used.used_at):%Y-%m-%d %H:%M}. "
            "Each link decides once; nothing was changed now.",
            status=410,
        )
    user = get_user_model().objects.filter(pk=link.user_id, is_active=True).first()
    if user is None:
        raise LinkRefused(
            "This link is not valid", "Its approver has no active account.", status=403
        )
    if signed_in is not None and signed_in.is_authenticated and signed_in.pk != user.pk:
        raise LinkRefused(
            "This link is for someone else",
            f"It decides for {name_of(user)}, and you are signed in as {name_of(signed_in)}. "
            "Nothing was changed. Sign out first if you are that person.",
            status=403,
        )
    requirement = (
        ApprovalRequirement.objects.select_related("user", "group")
        .filter(pk=link.requirement_id)
        .first()
    )
    if requirement is None:
        raise LinkRefused(
            "This request no longer exists",
            "Its approval requirement was removed. Nothing was changed.",
            status=404,
        )
    train = ReleaseTrain.objects.select_related("primary_manager").get(pk=requirement.train_id)
    _refuse_stale(link, requirement, train)
    if not access.may_decide(user, requirement, train):
        raise LinkRefused(
            "You no longer decide this",
            "The approval requirement does not ask for you any more. Nothing was changed.",
            status=403,
        )
    earlier = ApprovalDecision.objects.filter(
        requirement=requirement, round=link.round, user=user
    ).first()
    if earlier is not None:
        verdict = "approved" if earlier.approve else "rejected"
        raise LinkRefused(
            "You have already decided",
            f"You {verdict} this on {timezone.localtime(earlier.decided_at):%Y-%m-%d %H:%M}. "
            "Nothing was changed.",
            status=409,
        )
    return LinkCheck(link=link, user=user, requirement=requirement, train=train)


def decision_link_use(*, token: str, signed_in: User | None, comment: str = "") -> ApprovalDecision:
    """Decide as the link says, once: the link's use and the decision are written in one
    transaction, so a refused decision (a rejection without a reason) leaves the link
    usable, and a second use at the same moment finds the first one's row."""
    check = decision_link_check(token=token, signed_in=signed_in)
    link = check.link
    with transaction.atomic():
        try:
            with transaction.atomic():
                DecisionLinkUse.objects.create(
                    link_id=link.link_id,
                    user=check.user,
                    requirement=check.requirement,
                    round=link.round,
                    approve=link.approve,
                )
        except IntegrityError:
            raise LinkRefused(
                "This link was already used",
                "Someone used it a moment ago; each link decides once. Nothing was changed now.",
                status=410,
            ) from None
        return decision_record(
            requirement=check.requirement,
            by=check.user,
            approve=link.approve,
            comment=comment,
            expect_round=link.round,
        )


def decision_links_for(*, event, recipient: User) -> list[dict]:
    """The Approve and Reject links an approval-request mail (for `event`, the step into
    a gate) carries for its recipient: one pair a requirement they may decide, while the
    gate waits in the round this event opened and they have not decided it. Made when
    the mail is rendered; both links of a pair share one link id."""
    gate = workflow.gate_of(event.transition)
    train = event.train
    if gate is None or train.state != workflow.GATE_STATE.get(gate):
        return []
    if train.gate_opened_at is None or event.created_at < train.gate_opened_at:
        return []  # the event opened an earlier round
    round = train.round_for(gate)
    decided = set(
        ApprovalDecision.objects.filter(
            requirement__train=train, round=round, user=recipient
        ).values_list("requirement_id", flat=True)
    )
    links = []
    for requirement in ApprovalRequirement.objects.filter(train=train, gate=gate).select_related(
        "user", "group"
    ):
        if requirement.pk in decided or not access.may_decide(recipient, requirement, train):
            continue
        link_id = decision_link_ids()
        made = {"link_id": link_id, "requirement": requirement, "user": recipient, "round": round}
        links.append(
            {
                "label": requirement.approver_label,
                "approve_url": decision_link_url(**made, approve=True),
                "reject_url": decision_link_url(**made, approve=False),
            }
        )
    return links
