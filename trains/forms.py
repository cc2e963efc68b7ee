"""Forms for the train pages. They collect input; the services validate and change."""

from __future__ import annotations

import calendar

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db.models import Value

from approvals.models import Gate
from releasemgr import roles
from releasemgr.ids import IdChoiceField, IdField, IdMultipleChoiceField, parse_id
from releasemgr.people import person_name
from trains import freezes
from trains.choices import PHASE_ORDER, Health, PhaseKind, TrainType
from trains.models import Cadence, TrainTemplate
from trains.planning import PLACEHOLDER_HELP

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _users_in(role: str):
    return get_user_model().objects.filter(groups__name=role, is_active=True).order_by("username")


class UserChoiceField(IdChoiceField):
    def label_from_instance(self, user) -> str:
        full = user.get_full_name()
        return f"{full} ({user.get_username()})" if full else user.get_username()


class UserMultipleChoiceField(IdMultipleChoiceField):
    def label_from_instance(self, user) -> str:
        return UserChoiceField.label_from_instance(self, user)


class TrainForm(forms.Form):
    name = forms.CharField(max_length=120)
    purpose = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    train_type = forms.ChoiceField(label="Type", choices=TrainType.choices)
    primary_manager = UserChoiceField(label="Primary release manager", queryset=None)
    start_date = forms.DateField(widget=DATE)
    end_date = forms.DateField(widget=DATE)
    phase_scoping = forms.DateField(label="Scoping ends", widget=DATE, required=False)
    phase_construction = forms.DateField(label="Construction ends", widget=DATE, required=False)
    phase_verification = forms.DateField(label="Verification ends", widget=DATE, required=False)
    phase_deployment = forms.DateField(label="Deployment ends", widget=DATE, required=False)
    release_engineers = UserMultipleChoiceField(
        queryset=None,
        required=False,
        help_text="Who may deploy. None chosen: any release engineer who can see the train.",
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["primary_manager"].queryset = _users_in(roles.RELEASE_MANAGERS)
        self.fields["release_engineers"].queryset = _users_in(roles.RELEASE_ENGINEERS)

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        data["phase_ends"] = {kind: data.pop(f"phase_{kind}") for kind in PHASE_ORDER}
        return data

    @classmethod
    def initial_for(cls, train) -> dict:
        initial = {
            f: getattr(train, f)
            for f in ("name", "purpose", "train_type", "primary_manager", "start_date", "end_date")
        }
        for phase in train.phases.all():
            initial[f"phase_{phase.kind}"] = phase.planned_end
        initial["release_engineers"] = list(train.release_engineers.all())
        return initial

    def freeze_warning(self) -> str:
        """A warning, not an error: the deployment phase is planned to end inside a freeze
        window, when no train deploys (save an emergency train's approved exception)."""
        cleaned = getattr(self, "cleaned_data", None)
        day = cleaned.get("phase_deployment") if cleaned else self.initial.get("phase_deployment")
        window = freezes.window_on(day) if day else None
        if window is None:
            return ""
        return (
            f"The deployment phase ends on {day:%Y-%m-%d}, inside the freeze window "
            f"{window.label}: no train deploys then, save an emergency train whose freeze "
            "exception an executive approved."
        )

    def apply_errors(self, error: ValidationError) -> None:
        """Put a service's ValidationError on the fields it names."""
        if hasattr(error, "error_dict"):
            for field, messages in error.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
        else:
            self.add_error(None, error.messages)


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class TrainChoiceField(IdChoiceField):
    def label_from_instance(self, train) -> str:
        return f"{train.name} ({train.get_state_display().lower()}, ends {train.end_date:%Y-%m-%d})"


class ReleaseMoveForm(forms.Form):
    """Move a release to another train: the trains offered are the caller's to pass
    (the ones this person manages that take releases now)."""

    to_train = TrainChoiceField(label="Move to train", queryset=None)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        help_text="Why it misses this train; both trains' histories keep it.",
    )
    leave_empty = forms.BooleanField(
        required=False, label="Yes, leave this train with no application release"
    )

    def __init__(self, *args, targets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_train"].queryset = targets


class DeployForm(forms.Form):
    succeeded = forms.TypedChoiceField(
        label="Outcome",
        choices=[("1", "Succeeded"), ("0", "Failed")],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    log = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=100_000
    )


class CriterionForm(forms.Form):
    phase = forms.ChoiceField(choices=PhaseKind.choices)
    description = forms.CharField(max_length=200)
    required = forms.BooleanField(required=False, initial=True)
    due_date = forms.DateField(widget=DATE, required=False)


class CriterionRequiredForm(forms.Form):
    required = forms.TypedChoiceField(
        choices=[("1", "Required"), ("0", "Optional")], coerce=lambda v: v == "1"
    )


class RequirementForm(forms.Form):
    gate = forms.ChoiceField(
        choices=Gate.choices, widget=forms.Select(attrs={"class": "form-select", "id": "req-gate"})
    )
    approver = forms.ChoiceField(
        help_text="One person, or a group of whom N must approve.",
        widget=forms.Select(attrs={"class": "form-select", "id": "req-approver"}),
    )
    required_approvals = forms.IntegerField(
        label="Approvals needed (N)", min_value=1, max_value=50, initial=1
    )

    def __init__(self, *args, gates=None, **kwargs):
        super().__init__(*args, **kwargs)
        if gates is not None:  # the gates open now (services.gates.requirement_gates_open)
            self.fields["gate"].choices = [(g, Gate(g).label) for g in gates]
        # People and groups in one query (UNION ALL): the dashboard shows this form.
        people = (
            get_user_model()
            .objects.filter(is_active=True)
            .annotate(kind=Value("user"))
            .values_list("kind", "pk", "username", "first_name", "last_name")
        )
        teams = Group.objects.annotate(
            kind=Value("group"), no_first=Value(""), no_last=Value("")
        ).values_list("kind", "pk", "name", "no_first", "no_last")
        users, groups = [], []
        for kind, pk, name, first, last in sorted(
            people.union(teams, all=True), key=lambda row: (row[2].casefold(), row[2])
        ):
            if kind == "user":
                users.append((f"user:{pk}", f"{person_name(first, last, name)} ({name})"))
            else:
                groups.append((f"group:{pk}", f"Group: {roles.group_label(name)}"))
        self.fields["approver"].choices = [("", "Choose…"), ("Groups", groups), ("People", users)]

    def clean(self):
        data = super().clean()
        kind, _, pk = (data.get("approver") or "").partition(":")
        data["user"] = data["group"] = None
        try:
            pk = parse_id(pk) if kind in ("user", "group") else None
        except ValidationError:
            pk = None  # the choices hold only good ids; anything else is refused below
        if kind == "user" and pk:
            data["user"] = get_user_model().objects.filter(pk=pk).first()
        elif kind == "group" and pk:
            data["group"] = Group.objects.filter(pk=pk).first()
        if data.pop("approver", None) and not (data["user"] or data["group"]):
            self.add_error("approver", "Choose a person or a group.")
        return data


class DecisionForm(forms.Form):
    requirement = IdField(widget=forms.HiddenInput)
    approve = forms.TypedChoiceField(
        choices=[("1", "Approve"), ("0", "Reject")], coerce=lambda v: v == "1"
    )
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=4000
    )


class ReleaseAddForm(forms.Form):
    release = IdField()


class MilestoneForm(forms.Form):
    name = forms.CharField(max_length=120)
    due_date = forms.DateField(widget=DATE)


class GrantForm(forms.Form):
    username = forms.CharField(max_length=150, label="User name")
    level = forms.ChoiceField(
        choices=[("view", "View (stakeholder)"), ("manage", "Manage (release manager)")]
    )

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username__iexact=username, is_active=True).first()
        if user is None:
            raise ValidationError("No active user has that user name.")
        self.cleaned_data["user"] = user
        return username


# Templates, clones and schedules ---------------------------------------------------------


class CloneForm(forms.Form):
    start_date = forms.DateField(
        label="The new train starts on",
        widget=DATE,
        help_text="Every date moves with it; each phase keeps its length.",
    )
    name = forms.CharField(
        max_length=120,
        required=False,
        help_text="Empty: this train's name pattern, filled in for the new start.",
    )
    releases = forms.MultipleChoiceField(
        label="Application releases to add",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The applications' next planned releases. This train's own stay on it.",
    )

    def __init__(self, *args, offered=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.offered = {str(r.pk): r for r in offered}
        self.fields["releases"].choices = [(str(r.pk), str(r)) for r in offered]

    def chosen_releases(self) -> list:
        return [self.offered[pk] for pk in self.cleaned_data["releases"]]

    apply_errors = TrainForm.apply_errors


class SaveTemplateForm(forms.Form):
    name = forms.CharField(label="Template name", max_length=120)
    name_pattern = forms.CharField(
        max_length=120,
        required=False,
        help_text="How its trains are named. Empty: guessed from this train's name.",
    )


class TemplateForm(forms.Form):
    name = forms.CharField(max_length=120)
    name_pattern = forms.CharField(max_length=120)
    train_type = forms.ChoiceField(label="Type", choices=TrainType.choices)
    purpose = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    primary_manager = UserChoiceField(label="Primary release manager", queryset=None)
    duration_days = forms.IntegerField(label="Window length (days)", min_value=0, max_value=3660)

    FIELDS = ("name", "name_pattern", "train_type", "purpose", "primary_manager", "duration_days")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["primary_manager"].queryset = _users_in(roles.RELEASE_MANAGERS)
        self.fields["name_pattern"].help_text = PLACEHOLDER_HELP

    @classmethod
    def initial_for(cls, template) -> dict:
        return {f: getattr(template, f) for f in cls.FIELDS}

    apply_errors = TrainForm.apply_errors


class FromTemplateForm(forms.Form):
    template = IdChoiceField(queryset=None, label="Template")
    start_date = forms.DateField(label="Starts on", widget=DATE)
    name = forms.CharField(
        max_length=120, required=False, help_text="Empty: the template's name pattern."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = TrainTemplate.objects.order_by("name")

    apply_errors = TrainForm.apply_errors


WEEKDAY_CHOICES = [(i, d) for i, d in enumerate(calendar.day_name)]
ORDINAL_CHOICES = [(1, "First"), (2, "Second"), (3, "Third"), (4, "Fourth"), (-1, "Last")]


class ScheduleForm(forms.Form):
    cadence = forms.ChoiceField(choices=[])
    interval = forms.IntegerField(
        min_value=1, max_value=52, initial=1, help_text="Every how many weeks or months."
    )
    ordinal = forms.TypedChoiceField(
        label="Which",
        choices=[("", "—")] + ORDINAL_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        help_text="For a weekday of the month.",
    )
    weekday = forms.TypedChoiceField(
        choices=[("", "—")] + WEEKDAY_CHOICES, coerce=int, empty_value=None, required=False
    )
    start_date = forms.DateField(widget=DATE)
    end_date = forms.DateField(widget=DATE, required=False)
    name_pattern = forms.CharField(
        max_length=120, required=False, help_text="Empty: the template's pattern."
    )

    FIELDS = ("cadence", "interval", "ordinal", "weekday", "start_date", "end_date", "name_pattern")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cadence"].choices = Cadence.choices

    @classmethod
    def initial_for(cls, schedule) -> dict:
        return {f: getattr(schedule, f) for f in cls.FIELDS}

    apply_errors = TrainForm.apply_errors


class PeriodForm(forms.Form):
    """The days a page across trains looks at: first and last day, both included."""

    MAX_DAYS = 366 * 5

    first = forms.DateField(
        label="From", widget=forms.DateInput(attrs={"type": "date", "class": "form-control"})
    )
    last = forms.DateField(
        label="To", widget=forms.DateInput(attrs={"type": "date", "class": "form-control"})
    )

    def clean(self):
        data = super().clean()
        first, last = data.get("first"), data.get("last")
        if first and last:
            if last < first:
                raise ValidationError("The period must end on or after its first day.")
            if (last - first).days >= self.MAX_DAYS:
                raise ValidationError("Choose a period of at most five years.")
        return data


class FreezeWindowForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="As people will read it: “Year-end freeze”.")
    start = forms.DateField(widget=DATE, help_text="The first day nothing deploys.")
    end = forms.DateField(widget=DATE, help_text="The last day nothing deploys.")
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000
    )

    def apply_errors(self, error: ValidationError) -> None:
        TrainForm.apply_errors(self, error)


# Re-planning and health ----------------------------------------------------------------------


class PlanForm(forms.Form):
    """Move the window, the phase ends and the milestones, with a reason. An ended phase
    and a reached milestone are shown, not offered (the service refuses them anyway)."""

    start_date = forms.DateField(widget=DATE)
    end_date = forms.DateField(widget=DATE)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=500,
        help_text="Why the dates move: the history keeps it with each old and new date.",
    )

    def __init__(self, *args, train, **kwargs):
        self.train = train
        phases = list(train.phases.all())
        self.milestones = [m for m in train.milestones.all() if m.reached_at is None]
        initial = {"start_date": train.start_date, "end_date": train.end_date}
        for phase in phases:
            initial[f"phase_{phase.kind}"] = phase.planned_end
        for m in self.milestones:
            initial[f"milestone_{m.pk}"] = m.due_date
        super().__init__(*args, initial=initial, **kwargs)
        self.ended = []
        for phase in phases:
            label = f"{PhaseKind(phase.kind).label} ends"
            if phase.actual_end is not None:
                self.ended.append((label, phase.planned_end))
                continue
            self.fields[f"phase_{phase.kind}"] = forms.DateField(
                label=label, widget=DATE, required=False
            )
        for m in self.milestones:
            self.fields[f"milestone_{m.pk}"] = forms.DateField(label=m.name, widget=DATE)
        self.order_fields(["start_date", "end_date"])

    def phase_fields(self):
        return [self[f"phase_{kind}"] for kind in PHASE_ORDER if f"phase_{kind}" in self.fields]

    def milestone_fields(self):
        return [self[f"milestone_{m.pk}"] for m in self.milestones]

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "reason": data["reason"],
            "start_date": data["start_date"],
            "end_date": data["end_date"],
            "phase_ends": {
                kind: data[f"phase_{kind}"]
                for kind in PHASE_ORDER
                if f"phase_{kind}" in self.fields
            },
            "milestone_dues": {m.pk: data[f"milestone_{m.pk}"] for m in self.milestones},
        }

    def apply_errors(self, error: ValidationError) -> None:
        TrainForm.apply_errors(self, error)


class HealthOverrideForm(forms.Form):
    health = forms.ChoiceField(choices=Health.choices)
    until = forms.DateField(
        label="Until", widget=DATE, help_text="On this day the override lapses."
    )
    reason = forms.CharField(max_length=500)
