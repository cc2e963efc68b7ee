import os
from logging.config import dictConfig

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "releasemgr.settings")

app = Celery("releasemgr")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _log_like_the_web_processes(**kwargs: object) -> None:
    """Worker and beat log through settings.LOGGING: same format, to stdout.

    Connecting this signal tells Celery not to set up logging itself.
    """
    from django.conf import settings

    dictConfig(settings.LOGGING)
