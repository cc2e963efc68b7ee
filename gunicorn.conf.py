"""gunicorn settings, read from the working directory by `gunicorn releasemgr.wsgi`.

Every value can be changed by the environment or on the command line (which wins).
"""

import os

from releasemgr.logs import logging_config

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
# Sync workers: pages are short database-bound requests. Scale with processes per host
# (WEB_CONCURRENCY, about 2 x cores) and with more hosts behind the load balancer.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
# Recycle each worker now and then, so a slow leak never takes a host down.
max_requests = 1000
max_requests_jitter = 100
# Worker heartbeats on tmpfs where there is one: in containers /tmp may be on a slow
# overlay filesystem, and a stalled heartbeat gets a healthy worker killed.
# (bandit B108 asks whether a fixed temporary directory is safe: these are heartbeat
# files only, on tmpfs on purpose.)
if os.path.isdir("/dev/shm"):  # nosec B108
    worker_tmp_dir = "/dev/shm"  # nosec B108
# No control socket (gunicorn 25.1+): its default path is per user, so two instances on
# one host would share it, and nothing here uses gunicornc.
control_socket_disable = True

# The application logs one line per request itself (releasemgr.logs); gunicorn's own
# messages go to stdout in the same format, and its access log stays off.
accesslog = None
logconfig_dict = {
    **logging_config(
        level=os.environ.get("LOG_LEVEL", "INFO"), fmt=os.environ.get("LOG_FORMAT", "text")
    ),
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
    },
}
