from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy
from django.views.generic import RedirectView

from releasemgr import views

urlpatterns = [
    path("", RedirectView.as_view(url="/trains/", permanent=False)),
    path("favicon.ico", views.favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Django's own password change, on the profile (templates/registration/).
    path(
        "profile/password/",
        auth_views.PasswordChangeView.as_view(success_url=reverse_lazy("password_change_done")),
        name="password_change",
    ),
    path(
        "profile/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("", include("api.urls")),  # /api/, /calendar/feed/, CSV exports, /profile/, /webhooks/
    path("", include("trains.urls")),
    path("notifications/", include("trains.notifications.urls")),
]

# A broken database connection answers 503 "try again", anything else the 500 page.
handler500 = "releasemgr.views.server_error"
