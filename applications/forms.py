from django import forms
from django.contrib.auth import get_user_model

from releasemgr import roles
from releasemgr.ids import IdChoiceField


class ApplicationForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    product_owner = IdChoiceField(queryset=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product_owner"].queryset = (
            get_user_model()
            .objects.filter(groups__name=roles.PRODUCT_OWNERS, is_active=True)
            .order_by("username")
        )


class ReleaseForm(forms.Form):
    version = forms.CharField(max_length=60)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class TurnoverForm(forms.Form):
    description = forms.CharField(
        label="What is delivered",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=10_000,
        help_text="Artefacts, versions, runbooks, known issues.",
    )


class TurnoverRejectForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=4000)
