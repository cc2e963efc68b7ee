from django.urls import path

from trains.notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.preferences, name="preferences"),
    path("address/retry/", views.address_retry, name="address_retry"),
    path("sent/", views.sent_mail, name="sent"),
    path("sent/<int:pk>/", views.sent_mail_train, name="sent_train"),
]
