"""The approval inbox: the trains waiting longest for my decision, and what I decided."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from applications.models import ReleaseState
from releasemgr.exceptions import ServiceError
from trains.selectors import decided, inbox
from trains.services.gates import decision_snapshot
from trains.services.links import LinkRefused, decision_link_check, decision_link_use
from trains.status import train_status


@login_required
@require_GET
def inbox_view(request: HttpRequest) -> HttpResponse:
    """Open to every signed-in person: it lists what waits for them, which may be
    nothing; the navigation links here for whoever has anything to decide or decided."""
    user = request.user
    tab = "decided" if request.GET.get("tab") == "decided" else "waiting"
    context = {"tab": tab}
    if tab == "decided":
        context["decisions"] = decided(user=user)
    else:
        waiting = inbox(user=user)
        context.update(items=waiting.items, more=waiting.more)
        if waiting.items:  # the navigation's count, known here; with none it asks
            request.inbox_summary = (waiting.count, True)
    return render(request, "trains/inbox.html", context)


class DecisionLinkForm(forms.Form):
    comment = forms.CharField(
        label="Comment",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=10_000,
        required=False,
    )


def _refused(request: HttpRequest, refusal: LinkRefused) -> HttpResponse:
    return render(
        request, "trains/decision_link_refused.html", {"refusal": refusal}, status=refusal.status
    )


@require_http_methods(["GET", "POST"])
def decision_link_view(request: HttpRequest, token: str) -> HttpResponse:
    """An Approve or Reject link from an approval-request mail. GET shows what the
    approver decides on and changes nothing; POST decides, once. No sign-in needed: the
    signed link names its approver; someone else signed in is refused."""
    signed_in = request.user if request.user.is_authenticated else None
    try:
        check = decision_link_check(token=token, signed_in=signed_in)
    except LinkRefused as refusal:
        return _refused(request, refusal)
    form = DecisionLinkForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            decision = decision_link_use(
                token=token, signed_in=signed_in, comment=form.cleaned_data["comment"]
            )
        except LinkRefused as refusal:
            return _refused(request, refusal)
        except ValidationError as error:
            form.add_error("comment", error.messages)
        except ServiceError as error:
            form.add_error(None, str(error))
        else:
            train = check.train
            train.refresh_from_db()
            return render(
                request,
                "trains/decision_link_done.html",
                {"decision": decision, "train": train, "check": check},
            )
    train = check.train
    snapshot = decision_snapshot(train, check.requirement)
    for release in snapshot["releases"]:
        release["state_label"] = ReleaseState(release["state"]).label
    return render(
        request,
        "trains/decision_link.html",
        {
            "check": check,
            "train": train,
            "approve": check.link.approve,
            "status": train_status(train, check.user),
            "snapshot": snapshot,
            "form": form,
        },
        status=400 if form.errors else 200,
    )
