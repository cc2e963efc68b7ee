"""Forms for the train pages. They collect input; the services validate and change."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db.models import Value

from approvals.models import Gate
from releasemgr import roles
from releasemgr.ids import IdChoiceField, IdField, IdMultipleChoiceField, parse_id
from releasemgr.people import person_name
from trains.choices import PHASE_ORDER, Health, PhaseKind, TrainType

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

    def apply_errors(self, error: ValidationError) -> None:
        """Put a service's ValidationError on the fields it names."""
        if hasattr(error, "error_dict"):
            for field, messages in error.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
        else:
            self.add_error(None, error.messages)


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
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
