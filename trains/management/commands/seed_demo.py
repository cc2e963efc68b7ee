"""Demo data: one user per role and a train in every state, built through the services
so that history, rights and phases are real; and two years of closed trains before
them (`history.py`), so that the portfolio and the metrics mean something at once.
Running it twice changes nothing."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from applications import services as application_services
from applications.models import Application
from approvals.models import Gate
from releasemgr import roles
from trains import services
from trains.choices import CriterionCheck, PhaseKind, TrainState, TrainType
from trains.management.commands import history
from trains.models import FreezeWindow, ReleaseTrain

# B105: the demo users' documented password; refused with DEBUG off
PASSWORD = "demo"  # nosec B105
USERS = [
    # username, first, last, role group
    ("manager", "Maria", "Manager", roles.RELEASE_MANAGERS),
    ("owner", "Oscar", "Owner", roles.PRODUCT_OWNERS),
    ("qa", "Quinn", "Tester", roles.QA),
    ("executive", "Eva", "Executive", roles.EXECUTIVES),
    ("engineer", "Enzo", "Engineer", roles.RELEASE_ENGINEERS),
    ("stakeholder", "Sam", "Stakeholder", None),
]
APPLICATIONS = [
    ("Billing", "Invoices, payments and dunning."),
    ("Customer Portal", "Self-service web portal."),
    ("Mobile App", "iOS and Android clients."),
]
# name, type, state to reach, days from today to the train's start, shared with stakeholder
TRAINS = [
    ("2027.01 Winter feature train", TrainType.MAJOR, TrainState.SCOPING, 10, True),
    ("2026.12 December train", TrainType.MINOR, TrainState.CONSTRUCTION, -10, True),
    ("2026.12 Security hardening", TrainType.MINOR, TrainState.DEVELOPMENT_APPROVAL, -18, False),
    ("2026.11 Performance train", TrainType.MAJOR, TrainState.VERIFICATION, -24, True),
    ("2026.11 Patch 3", TrainType.PATCH, TrainState.EXECUTIVE_APPROVAL, -26, False),
    ("2026.11 Patch 2", TrainType.PATCH, TrainState.DEPLOYMENT, -29, True),
    ("2026.10 Autumn train", TrainType.MAJOR, TrainState.CLOSED, -60, True),
    ("2026.11 Hotfix payment outage", TrainType.EMERGENCY, TrainState.CLOSED, -20, False),
    ("2026.10 Data migration", TrainType.MINOR, TrainState.CANCELLED, -40, False),
]


FREEZE_NAME = "Year-end freeze"


class Command(BaseCommand):
    help = "Create demo users (password 'demo') and a release train in every state."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even when DEBUG is off (never on a real instance).",
        )
        parser.add_argument(
            "--history",
            dest="history_trains",
            type=int,
            default=history.TRAINS,
            metavar="N",
            help=(
                f"How many closed trains of the last two years to make, 0 to "
                f"{history.TRAINS} (default {history.TRAINS}; fewer is quicker). Made "
                f"once: a database that has some of them gets no more."
            ),
        )

    def handle(self, *args, force: bool = False, history_trains: int = history.TRAINS, **options):
        if not 0 <= history_trains <= history.TRAINS:
            raise CommandError(
                f"--history takes 0 to {history.TRAINS} trains, not {history_trains}."
            )
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is off: this looks like a real instance. seed_demo "
                "creates users with the password 'demo'; use --force to insist."
            )
        with transaction.atomic():
            people = self._users()
            apps = self._applications(people)
            self._freeze_window(people)
            created = 0
            created += history.seed(people=people, apps=apps, count=history_trains)
            for index, spec in enumerate(TRAINS):
                name = spec[0]
                if ReleaseTrain.objects.filter(name=name).exists():
                    continue
                self._train(index, *spec, people=people, apps=apps)
                created += 1
            made = _monthly_template(people["manager"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {len(people)} users (password '{PASSWORD}'), "
                f"{created} new train(s), {ReleaseTrain.objects.count()} in all; "
                f"{made} made by the monthly schedule."
            )
        )

    def _users(self) -> dict:
        User = get_user_model()
        # One hash for everyone's same password, made when a user is: hashing is slow on
        # purpose (0.4 s each).
        password = None
        people = {}
        for username, first, last, role in USERS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@example.com",
                },
            )
            if created:
                password = password or make_password(PASSWORD)
                user.password = password
                user.save(update_fields=["password"])
            if role:
                user.groups.add(Group.objects.get(name=role))
            people[username] = user
        admin, created = User.objects.get_or_create(
            username="admin",
            defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.com"},
        )
        if created:
            admin.password = password or make_password(PASSWORD)
            admin.save(update_fields=["password"])
        return people

    def _freeze_window(self, people) -> None:
        """A freeze window in the coming month (once: none of that name yet)."""
        if FreezeWindow.objects.filter(name=FREEZE_NAME).exists():
            return
        start = timezone.localdate() + timedelta(days=18)
        services.freeze_create(
            by=people["manager"],
            name=FREEZE_NAME,
            start=start,
            end=start + timedelta(days=10),
            reason="Peak trading: the shops take the year's orders; nothing deploys.",
        )

    def _applications(self, people) -> list[Application]:
        apps = []
        for name, description in APPLICATIONS:
            app = Application.objects.filter(name=name).first()
            if app is None:
                app = application_services.application_create(
                    by=people["manager"],
                    name=name,
                    product_owner=people["owner"],
                    description=description,
                )
            apps.append(app)
        return apps

    def _train(self, index, name, train_type, target, start_offset, shared, *, people, apps):
        manager, owner, qa = people["manager"], people["owner"], people["qa"]
        executive, engineer = people["executive"], people["engineer"]
        today = timezone.localdate()
        start = today + timedelta(days=start_offset)
        step = 2 if train_type == TrainType.EMERGENCY else 8
        ends = {kind: start + timedelta(days=step * (i + 1)) for i, kind in enumerate(PhaseKind)}
        end = ends[PhaseKind.DEPLOYMENT] + timedelta(days=2)
        train = services.train_create(
            by=manager,
            name=name,
            train_type=train_type,
            primary_manager=manager,
            start_date=start,
            end_date=end,
            phase_ends=ends,
            purpose=f"Demo {TrainType(train_type).label.lower()} train.",
            release_engineers=[engineer],
        )
        if shared:
            services.train_grant(train=train, by=manager, user=people["stakeholder"])
        services.milestone_add(
            train=train, by=manager, name="Code freeze", due_date=ends[PhaseKind.CONSTRUCTION]
        )
        dev_gate = services.requirement_add(
            train=train, by=manager, gate=Gate.DEVELOPMENT, user=manager
        )
        exec_gate = services.requirement_add(
            train=train,
            by=manager,
            gate=Gate.EXECUTIVE,
            group=Group.objects.get(name=roles.EXECUTIVES),
            required_approvals=1,
        )
        releases = []
        for n, app in enumerate(apps[: 2 if train_type != TrainType.EMERGENCY else 1]):
            release = application_services.release_create(
                by=manager, application=app, version=f"{index + 1}.{n}.0"
            )
            services.release_add(train=train, release=release, by=manager)
            releases.append(release)
        if target == TrainState.SCOPING:
            return
        services.train_transition(train=train, name="start_construction", by=manager)
        releases = [
            services.release_transition(release=r, name="start_development", by=owner)
            for r in releases
        ]
        if target == TrainState.CANCELLED:
            services.train_transition(
                train=_fresh(train),
                name="cancel",
                by=manager,
                reason="Superseded by the 2026.11 performance train.",
            )
            return
        if target == TrainState.CONSTRUCTION:
            services.release_transition(release=releases[0], name="complete_development", by=owner)
            self._slip(_fresh(train), ends, end, people=people, apps=apps, index=index)
            _move_to_next_train(releases[0], by=manager)
            return
        for release in releases:
            services.release_transition(
                release=_fresh(release), name="complete_development", by=owner
            )
        if target == TrainState.DEVELOPMENT_APPROVAL:
            return
        if index == 3:  # one train went round the development gate twice
            services.decision_record(
                requirement=dev_gate,
                by=manager,
                approve=False,
                comment="Billing needs the new tax rules first.",
            )
            release = _fresh(releases[0])
            services.release_transition(release=release, name="reopen_development", by=owner)
            services.release_transition(
                release=_fresh(release), name="complete_development", by=owner
            )
        services.decision_record(requirement=dev_gate, by=manager, approve=True)
        train = _fresh(train)
        qa_check = train.criteria.get(phase=PhaseKind.VERIFICATION, rule=CriterionCheck.MANUAL)
        services.criterion_set_met(criterion=qa_check, by=qa, met=True)
        if target == TrainState.VERIFICATION:
            services.health_override_set(
                train=_fresh(train),
                by=manager,
                health="amber",
                reason="The load-test environment is shared with another team this week.",
                until=today + timedelta(days=5),
            )
            return
        services.train_transition(train=train, name="request_executive_approval", by=manager)
        if target == TrainState.EXECUTIVE_APPROVAL:
            return
        services.decision_record(requirement=exec_gate, by=executive, approve=True)
        for release in releases:
            turnover = services.turnover_submit(
                release=_fresh(release), by=owner, description="Build artefacts and runbook."
            )
            services.turnover_decide(turnover=turnover, by=engineer, accept=True)
        services.train_deploy(
            train=_fresh(train),
            by=engineer,
            succeeded=False,
            log="Smoke test failed on the payment service; rolled back.",
        )
        if target == TrainState.DEPLOYMENT:
            return
        services.train_deploy(
            train=_fresh(train), by=engineer, succeeded=True, log="All services healthy."
        )

    def _slip(self, train, ends, end, *, people, apps, index):
        """A train that slipped after its baseline: a week later, with a release added
        since (amber: more slip than HEALTH_AMBER_SLIP_DAYS)."""
        manager = people["manager"]
        week = timedelta(days=7)
        services.plan_move(
            train=train,
            by=manager,
            reason="The billing vendor's API arrives a week late.",
            end_date=end + week,
            phase_ends={
                kind: ends[kind] + week
                for kind in (PhaseKind.CONSTRUCTION, PhaseKind.VERIFICATION, PhaseKind.DEPLOYMENT)
            },
            milestone_dues={m.pk: m.due_date + week for m in train.milestones.all()},
        )
        late = application_services.release_create(
            by=manager, application=apps[2], version=f"{index + 1}.9.0"
        )
        services.release_add(train=_fresh(train), release=late, by=manager)


def _move_to_next_train(release, *, by) -> None:
    """One release missed its train: it takes the next one, keeping its state."""
    later = ReleaseTrain.objects.filter(name=TRAINS[0][0]).first()
    if later is not None:
        services.release_move(
            release=release,
            to_train=later,
            by=by,
            reason="Its payment provider's sandbox is late; it takes the next train.",
        )


def _fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


TEMPLATE = "Monthly minor train"
TEMPLATE_FROM = "2026.12 December train"


def _monthly_template(manager) -> int:
    """A template with a monthly cadence (first Monday of every month), from the
    December train, and the upcoming trains the schedule makes. Returns how many it made."""
    from trains.models import TrainTemplate
    from trains.services import templates

    template = TrainTemplate.objects.filter(name=TEMPLATE).first()
    if template is None:
        source = ReleaseTrain.objects.filter(name=TEMPLATE_FROM).first()
        if source is None:
            return 0
        template = templates.template_save(
            train=source,
            by=manager,
            name=TEMPLATE,
            name_pattern="{year}.{month:02} Monthly minor train",
        )
        today = timezone.localdate()
        templates.schedule_create(
            template=template,
            by=manager,
            cadence="monthly_weekday",
            ordinal=1,
            weekday=0,
            start_date=(today.replace(day=1) + timedelta(days=32)).replace(day=1),
        )
    made = 0
    for schedule in template.schedules.filter(paused=False):
        made += len(templates.schedule_run(schedule=schedule, today=timezone.localdate()))
    return made
