from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(url="/trains/", permanent=False)),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("api.urls")),  # /api/, /calendar/feed/, CSV exports, /profile/, /webhooks/
    path("", include("trains.urls")),
    path("notifications/", include("trains.notifications.urls")),
]
