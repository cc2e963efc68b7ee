from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API and integrations"

    def ready(self) -> None:
        from api import receivers  # noqa: F401 - connects the webhook trigger
        from api.tasks import register_periodic_tasks

        register_periodic_tasks()
