from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from applications.models import Application, ApplicationRelease
from approvals.models import Gate
from trains import services
from trains.choices import PhaseKind, TrainType


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for name in extracted or ():
            self.groups.add(Group.objects.get(name=name))


class ApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Application

    name = factory.Sequence(lambda n: f"App {n}")
    product_owner = factory.SubFactory(UserFactory)


class ReleaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApplicationRelease

    application = factory.SubFactory(ApplicationFactory)
    version = factory.Sequence(lambda n: f"1.{n}.0")


def schedule(start=None, *, step: int = 7):
    """Valid dates for a train starting `start`: phases `step` days apart."""
    start = start or timezone.localdate()
    ends = {kind: start + timedelta(days=step * (i + 1)) for i, kind in enumerate(PhaseKind)}
    return {
        "start_date": start,
        "end_date": ends[PhaseKind.DEPLOYMENT] + timedelta(days=1),
        "phase_ends": ends,
    }


_counter = iter(range(1, 1_000_000))


def make_train(manager, **overrides):
    """A train in scoping, with dates set and nothing else."""
    kwargs = {
        "by": manager,
        "name": f"Train {next(_counter)}",
        "train_type": TrainType.MINOR,
        "primary_manager": manager,
        **schedule(),
    }
    kwargs.update(overrides)
    return services.train_create(**kwargs)


def scope(train, *, manager, owner, executives_group="executives", releases=2, exec_needed=1):
    """Fill scoping: approvers for both gates and `releases` application releases."""
    dev = services.requirement_add(train=train, by=manager, gate=Gate.DEVELOPMENT, user=manager)
    exe = services.requirement_add(
        train=train,
        by=manager,
        gate=Gate.EXECUTIVE,
        group=Group.objects.get(name=executives_group),
        required_approvals=exec_needed,
    )
    added = []
    for _ in range(releases):
        release = ReleaseFactory(application__product_owner=owner)
        services.release_add(train=train, release=release, by=manager)
        added.append(release)
    return dev, exe, added


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def complete_all(releases, owner):
    for release in releases:
        release = fresh(release)
        if release.state == "planned":
            release = services.release_transition(
                release=release, name="start_development", by=owner
            )
        if release.state == "in_development":
            services.release_transition(release=release, name="complete_development", by=owner)


def drive(
    train,
    to,
    *,
    manager,
    owner,
    qa,
    executive,
    engineer,
    releases=2,
    exec_needed=1,
    executives_group="executives",
):
    """Walk a new train through the services to state `to`; returns (train, dev, exe, rels)."""
    dev, exe, rels = scope(
        train,
        manager=manager,
        owner=owner,
        executives_group=executives_group,
        releases=releases,
        exec_needed=exec_needed,
    )
    order = [
        "scoping",
        "construction",
        "development_approval",
        "verification",
        "executive_approval",
        "deployment",
        "closed",
    ]
    target = order.index(to)
    if target >= 1:
        services.train_transition(train=fresh(train), name="start_construction", by=manager)
    if target >= 2:
        complete_all(rels, owner)  # the last completion requests development approval
    if target >= 3:
        services.decision_record(requirement=dev, by=manager, approve=True)
        qa_check = train.criteria.get(phase="verification", rule="manual")
        services.criterion_set_met(criterion=qa_check, by=qa, met=True)
    if target >= 4:
        services.train_transition(train=fresh(train), name="request_executive_approval", by=manager)
    if target >= 5:
        services.decision_record(requirement=exe, by=executive, approve=True)
        for release in rels:
            turnover = services.turnover_submit(
                release=fresh(release), by=owner, description="artefacts"
            )
            services.turnover_decide(turnover=turnover, by=engineer, accept=True)
    if target >= 6:
        services.train_deploy(train=fresh(train), by=engineer, succeeded=True)
    return fresh(train), dev, exe, rels
