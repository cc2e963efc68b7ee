"""The approval inbox: every train waiting for my decision, and what I decided."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from trains.selectors import decided, inbox


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
        context["items"] = items = inbox(user=user)
        if items:  # the navigation's count, known here; with none it asks the question
            request.inbox_summary = (len(items), True)
    return render(request, "trains/inbox.html", context)
