from django import forms

from api.models import ApiToken, WebhookEventKind
from releasemgr.ids import IdChoiceField
from trains.access import trains_visible_to


class TokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["name"]
        labels = {"name": "Token name"}


class WebhookForm(forms.Form):
    url = forms.URLField(
        label="Payload URL",
        max_length=500,
        assume_scheme="https",
        help_text="We POST JSON here, signed with the webhook's secret.",
    )
    events = forms.MultipleChoiceField(
        label="Events",
        choices=WebhookEventKind.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=list(WebhookEventKind.values),
    )
    train = IdChoiceField(
        label="Train",
        queryset=None,
        required=False,
        empty_label="Every train I may see",
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["train"].queryset = trains_visible_to(user).order_by("-start_date", "name")
