from django import forms
from django.conf import settings

from trains.choices import NOTIFICATION_HELP, Delivery, NotificationKind


def _deadline_help() -> str:
    days = [str(d) for d in settings.REMINDER_OFFSETS_DAYS]
    spelled = ", ".join(days[:-1]) + f" and {days[-1]}" if len(days) > 1 else days[0]
    return f"A phase end, exit criterion or milestone is {spelled} days away."


class PreferencesForm(forms.Form):
    """One choice per kind of notification: e-mail at once, daily digest, or off."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for kind in NotificationKind:
            self.fields[kind.value] = forms.ChoiceField(
                label=kind.label,
                choices=Delivery.choices,
                help_text=_deadline_help()
                if kind == NotificationKind.DEADLINE
                else NOTIFICATION_HELP[kind],
            )
