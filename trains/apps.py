from django.apps import AppConfig


class TrainsConfig(AppConfig):
    name = "trains"

    def ready(self) -> None:
        from releasemgr import memory

        memory.freeze_after_first_request()
