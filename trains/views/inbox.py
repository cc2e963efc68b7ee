"""The approval inbox: every train waiting for my decision, and what I decided."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from releasemgr import roles
from trains.selectors import decided, inbox, pending_requirements


@login_required
@require_GET
def inbox_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not (
        roles.has_role(user, roles.EXECUTIVES)
        or roles.has_role(user, roles.RELEASE_MANAGERS)
        or pending_requirements(user=user).exists()
    ):
        raise PermissionDenied("The approval inbox is for approvers.")
    tab = "decided" if request.GET.get("tab") == "decided" else "waiting"
    context = {"tab": tab}
    if tab == "decided":
        context["decisions"] = decided(user=user)
    else:
        context["items"] = items = inbox(user=user)
        request.inbox_count = len(items)
    return render(request, "trains/inbox.html", context)
