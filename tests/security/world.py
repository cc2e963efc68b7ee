"""One small world for the access matrix, the escaping crawl and the fuzz tests.

Two trains in verification, built through the services: "own", which every demo
persona except the outsider takes part in, and "other", led by someone else and shared
with nobody here. Each carries every kind of object a URL can name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth.models import Group
from django.utils import timezone

from api import services as api_services
from api.models import WebhookDelivery, WebhookSubscription
from approvals.models import Gate
from releasemgr import roles
from tests.factories import ReleaseFactory, UserFactory, complete_all, fresh, make_train
from trains import services
from trains.models import Deployment
from trains.services import templates
from trains.services.links import decision_link_ids, decision_link_url

PERSONAS = ("manager", "owner", "qa", "executive", "engineer", "stakeholder", "outsider")
PERSONA_ROLES = {
    "manager": roles.RELEASE_MANAGERS,
    "owner": roles.PRODUCT_OWNERS,
    "qa": roles.QA,
    "executive": roles.EXECUTIVES,
    "engineer": roles.RELEASE_ENGINEERS,
}
OWN_NAME = "Matrix own train"
# Strings of the other train that must never reach a page of someone who cannot see it.
SECRETS = (
    "Zulu secret train",
    "Zulu secret purpose",
    "Zulu milestone",
    "Zulu criterion",
    "Zulu deployment log",
)


@dataclass
class Side:
    """One train and the objects on it."""

    train: object
    dev: object
    exe: object
    releases: list
    criterion: object
    milestone: object
    turnover: object
    granted: object  # a user granted view, to revoke


@dataclass
class World:
    users: dict
    own: Side
    other: Side
    tokens: dict = field(default_factory=dict)  # username -> (ApiToken, raw)
    feeds: dict = field(default_factory=dict)  # username -> the feed URL's token
    webhooks: dict = field(default_factory=dict)  # "own"/"other" -> subscription
    deliveries: dict = field(default_factory=dict)
    template: object = None  # a template of the own train, with a schedule
    schedule: object = None
    freeze: object = None  # a freeze window, organisation-wide
    links: dict = field(default_factory=dict)  # approver username -> a signed decision link

    def side(self, scope: str) -> Side:
        return self.own if scope == "own" else self.other


def _build_side(train, *, manager, owner, ticker, exec_group, granted, app_name, labels) -> Side:
    dev = services.requirement_add(train=train, by=manager, gate=Gate.DEVELOPMENT, user=manager)
    exe = services.requirement_add(train=train, by=manager, gate=Gate.EXECUTIVE, group=exec_group)
    releases = []
    for version in ("1.0.0", "2.0.0"):
        release = ReleaseFactory(
            application__product_owner=owner, application__name=f"{app_name} {version}"
        )
        services.release_add(train=train, release=release, by=manager)
        releases.append(release)
    services.train_transition(train=fresh(train), name="start_construction", by=manager)
    complete_all(releases, owner)
    services.decision_record(requirement=dev, by=manager, approve=True)
    qa_check = train.criteria.get(phase="verification", rule="manual")
    services.criterion_set_met(criterion=qa_check, by=ticker, met=True)
    train = fresh(train)
    criterion = services.criterion_add(
        train=train, by=manager, phase="verification", description=labels["criterion"]
    )
    milestone = services.milestone_add(
        train=train, by=manager, name=labels["milestone"], due_date=train.end_date
    )
    services.train_grant(train=train, by=manager, user=granted)
    turnover = services.turnover_submit(release=fresh(releases[0]), by=owner, description="v1")
    # A deployment attempt to read the log of (written directly: the train is not in
    # deployment, and the matrix needs only the row).
    Deployment.objects.create(
        train=train, attempted_by=manager, succeeded=False, log=labels["deployment_log"]
    )
    return Side(fresh(train), dev, exe, releases, criterion, milestone, turnover, granted)


def build_world() -> World:
    for name in roles.ALL_ROLES:
        Group.objects.get_or_create(name=name)
    users = {
        name: UserFactory(
            username=name,
            first_name=name.title(),
            roles=[PERSONA_ROLES[name]] if name in PERSONA_ROLES else [],
        )
        for name in PERSONAS
    }
    users["other_manager"] = UserFactory(username="other_manager", roles=[roles.RELEASE_MANAGERS])
    users["other_owner"] = UserFactory(username="other_owner", roles=[roles.PRODUCT_OWNERS])
    users["other_exec"] = UserFactory(username="other_exec")
    users["other_stakeholder"] = UserFactory(username="other_stakeholder")
    board = Group.objects.create(name="zulu board")
    board.user_set.add(users["other_exec"])

    own = _build_side(
        make_train(users["manager"], name=OWN_NAME, purpose="Own purpose"),
        manager=users["manager"],
        owner=users["owner"],
        ticker=users["qa"],
        exec_group=Group.objects.get(name=roles.EXECUTIVES),
        granted=users["stakeholder"],
        app_name="Own app",
        labels={
            "criterion": "Own criterion",
            "milestone": "Own milestone",
            "deployment_log": "Own deployment log",
        },
    )
    other = _build_side(
        make_train(
            users["other_manager"],
            name=SECRETS[0],
            purpose=SECRETS[1],
            viewer_groups=(),
        ),
        manager=users["other_manager"],
        owner=users["other_owner"],
        ticker=users["other_manager"],
        exec_group=board,
        granted=users["other_stakeholder"],
        app_name="Zulu app",
        labels={"criterion": SECRETS[3], "milestone": SECRETS[2], "deployment_log": SECRETS[4]},
    )
    world = World(users=users, own=own, other=other)
    for name, user in users.items():
        world.tokens[name] = api_services.token_create(user=user, name=f"{name} token")
        world.feeds[name] = api_services.feed_create(user=user)[1]
    for scope, owner_name in (("own", "manager"), ("other", "other_manager")):
        side = world.side(scope)
        subscription = WebhookSubscription.objects.create(
            owner=users[owner_name],
            url=f"https://hooks.example.com/{scope}",
            secret="s" * 64,
            events=["train.transitioned"],
            train=side.train,
        )
        world.webhooks[scope] = subscription
        world.deliveries[scope] = WebhookDelivery.objects.create(
            subscription=subscription,
            event=side.train.events.order_by("id").first(),
            kind="train.transitioned",
            payload={},
        )
    _build_templates_and_freezes(world)
    return world


def _build_templates_and_freezes(world: World) -> None:
    """Templates, schedules and freeze windows belong to no train: one of each. A decision
    link for the executive's gate of the own train and for the other train's board."""
    manager = world.users["manager"]
    today = timezone.localdate()
    world.template = templates.template_save(
        train=world.own.train, by=manager, name="Matrix template"
    )
    world.schedule = templates.schedule_create(
        template=world.template,
        by=manager,
        cadence="weeks",
        interval=4,
        start_date=today + timedelta(days=60),
        name_pattern="{year}-{week} Matrix",
    )
    world.freeze = services.freeze_create(
        by=manager,
        name="Matrix freeze",
        start=today + timedelta(days=30),
        end=today + timedelta(days=31),
    )
    for approver, side in (("executive", world.own), ("other_exec", world.other)):
        url = decision_link_url(
            link_id=decision_link_ids(),
            requirement=side.exe,
            user=world.users[approver],
            round=1,
            approve=True,
        )
        world.links[approver] = url.rstrip("/").rsplit("/", 1)[1]
