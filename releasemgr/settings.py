"""Settings for releasemgr, read from the environment (see .env.example).

With no environment at all this runs a development instance on SQLite with a
Celery broker on the local filesystem, so `make run` needs no server.
"""

import base64
import hashlib
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from releasemgr.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"
DEBUG = env.bool("DEBUG", default=not PRODUCTION)

# The development default; production refuses it below (hence the nosec).
_DEV_SECRET = "dev-only-insecure-secret-key-do-not-use-in-production"  # nosec B105
# The placeholder .env.example shows: long enough, public, so refused as well.
_EXAMPLE_SECRET = "change-me-to-a-long-random-string-of-at-least-forty-characters"  # nosec B105 - refused below
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["*"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Keys that encrypt secrets at rest (webhook signing secrets), comma-separated Fernet keys,
# newest first: the first encrypts, all decrypt, so a new key goes in front and
# `manage.py reencrypt_secrets` moves every secret to it before the old one is dropped.
# Development derives one from SECRET_KEY; production needs its own (a lost key loses
# the secrets, and changing SECRET_KEY must not).
FERNET_KEYS = [k for k in env.list("FERNET_KEYS", default=[]) if k]
if not FERNET_KEYS and not PRODUCTION:
    FERNET_KEYS = [
        base64.urlsafe_b64encode(
            hashlib.sha256(b"releasemgr fernet key\0" + SECRET_KEY.encode()).digest()
        ).decode()
    ]

if PRODUCTION:
    if not FERNET_KEYS:
        raise ImproperlyConfigured(
            "DJANGO_ENV=production needs FERNET_KEYS: python -c 'from cryptography.fernet "
            "import Fernet; print(Fernet.generate_key().decode())'"
        )
    if SECRET_KEY in (_DEV_SECRET, _EXAMPLE_SECRET) or len(SECRET_KEY) < 40:
        raise ImproperlyConfigured("DJANGO_ENV=production needs a real SECRET_KEY (40+ chars).")
    if not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS:
        raise ImproperlyConfigured("DJANGO_ENV=production needs an explicit ALLOWED_HOSTS.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "csp",
    "guardian",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_filters",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "applications",
    "approvals",
    "trains",
    "api",
]

MIDDLEWARE = [
    "releasemgr.logs.RequestLogMiddleware",
    # Before host validation and the HTTPS redirect: probes use plain HTTP and an IP.
    "releasemgr.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a lockout raised during sign-in into its page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "releasemgr.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "releasemgr.context_processors.navigation",
            ],
            "builtins": ["releasemgr.people", "releasemgr.templatetags.jinja"],
        },
    },
    # The hot bodies of the pages (releasemgr/jinja2.py), included with `{% jinja %}`.
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "releasemgr.jinja2.environment"},
    },
]

WSGI_APPLICATION = "releasemgr.wsgi.application"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'releasemgr.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Keep a worker's connection for a minute instead of opening one a request (a new
# PostgreSQL connection costs more than most of our pages' queries together); checked
# before its first use in each request (CONN_HEALTH_CHECKS), so an idle worker's dead
# connection is replaced without an error; a request in flight when the connection breaks
# answers 503 "try again" with Retry-After (releasemgr.views.server_error), never a 500.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a writer instead of failing at once when web and worker share the file.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT compilation: our queries read few rows through many small correlated
    # subqueries, which the planner overestimates, and compiling them took 80–290 ms of
    # queries that run in 10–60 ms (the calendar, the inbox, the metrics: bench/RESULTS.md).
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} -c jit=off".strip()
    # Prepared statements: a statement run DB_PREPARE_THRESHOLD times on a connection is
    # parsed and planned once for it (psycopg's automatic preparation, which needs
    # server-side binding). Planning the pages' big reads cost more than running them
    # (the dashboard's train: 10 ms of planning, 4 ms of execution). `off` behind a
    # PgBouncer in transaction mode, which cannot keep a statement for a connection.
    _prepare = env.str("DB_PREPARE_THRESHOLD", default="5").strip().lower()
    if _prepare != "off" and not (_prepare.isdigit() and len(_prepare) < 7):
        raise ImproperlyConfigured(
            f"DB_PREPARE_THRESHOLD must be a number of runs (such as 5) or off, not {_prepare!r}"
        )
    _options["server_side_binding"] = True
    _options["prepare_threshold"] = None if _prepare == "off" else int(_prepare)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username and address before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, which also reads the user's groups with the user.
    "releasemgr.auth.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row; anonymous sees nothing.
GUARDIAN_RENDER_403 = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/trains/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "staticfiles")
# Production serves what `collectstatic` wrote: hashed names (cached forever by browsers)
# and compressed copies, through WhiteNoise. Development and the tests never run
# collectstatic, so they keep the plain storage (the manifest one fails without its
# manifest). STATIC_MANIFEST=true forces it, e.g. for collectstatic in the image build.
STATIC_MANIFEST = env.bool("STATIC_MANIFEST", default=PRODUCTION)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="releasemgr@localhost")
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# Celery: Redis in production and CI; a broker directory on disk by default so that
# the development command needs no server.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("in", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "in"),
        "data_folder_out": str(_broker_dir / "in"),
        "processed_folder": str(_broker_dir / "processed"),
        # remote control (the worker's mailbox); kombu's default is ./control
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # The worker looks for new messages this often (kombu's default is every second,
        # which delivers a queue of outbox rows at one mail a second).
        "polling_interval": 0.1,
    }
# A web request hands work to the broker after its response, trying once with these
# connect and read timeouts (seconds), and after a failure leaves the broker alone for
# BROKER_BACKOFF_SECONDS; beat's sweeps send what was not handed over (releasemgr/broker.py).
BROKER_PUBLISH_TIMEOUT = env.float("BROKER_PUBLISH_TIMEOUT", default=0.5)
BROKER_BACKOFF_SECONDS = env.float("BROKER_BACKOFF_SECONDS", default=30.0)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE

# REST API (api/): personal Bearer tokens for scripts, the session for the browser.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "releasemgr API",
    "DESCRIPTION": "Release trains, their gates, approvals and deployments. Send a personal "
    "token from /profile/ as `Authorization: Bearer <token>`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "TrainStateEnum": "trains.choices.TrainState",
        "TrainTypeEnum": "trains.choices.TrainType",
        "PhaseKindEnum": "trains.choices.PhaseKind",
        "EventKindEnum": "trains.choices.EventKind",
        "HealthEnum": "trains.choices.Health",
        "CriterionRuleEnum": "trains.choices.CriterionCheck",
        "GateEnum": "approvals.models.Gate",
        "ReleaseStateEnum": "applications.models.ReleaseState",
        "TurnoverStateEnum": "applications.models.TurnoverState",
        "WebhookEventEnum": "api.models.WebhookEventKind",
        "WebhookDeliveryStatusEnum": "api.models.DeliveryStatus",
        "NotificationDeliveryEnum": "trains.choices.Delivery",
    },
}

# Webhooks: deliveries time out after WEBHOOK_TIMEOUT seconds and are retried after
# each delay in turn, then given up. Loopback and private addresses are refused unless
# listed in WEBHOOK_ALLOWED_NETWORKS (e.g. 127.0.0.1/32 for a receiver on this host).
WEBHOOK_TIMEOUT = env.int("WEBHOOK_TIMEOUT", default=10)
_RETRY_DELAYS = ["60", "300", "1800", "7200", "21600"]
WEBHOOK_RETRY_DELAYS = [
    int(d) for d in env.list("WEBHOOK_RETRY_DELAYS", default=_RETRY_DELAYS) if d
]
WEBHOOK_ALLOWED_NETWORKS = [n for n in env.list("WEBHOOK_ALLOWED_NETWORKS", default=[]) if n]
# /healthz answers a Host in ALLOWED_HOSTS, or any Host from these networks (loopback:
# the container's own health check; add a load balancer's network to probe by address).
HEALTHZ_ALLOWED_NETWORKS = [
    n for n in env.list("HEALTHZ_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"]) if n
]
WEBHOOK_SCAN_WINDOW = env.int("WEBHOOK_SCAN_WINDOW", default=24 * 3600)

# Reminders and notifications (trains/notifications/). Days are calendar days in TIME_ZONE.
REMINDER_OFFSETS_DAYS = sorted(
    set(env.list("REMINDER_OFFSETS_DAYS", cast=int, default=[7, 2, 1])), reverse=True
)
# How long the Approve and Reject links of an approval-request mail stay valid.
APPROVAL_LINK_MAX_AGE_DAYS = env.int("APPROVAL_LINK_MAX_AGE_DAYS", default=7)
REMINDER_ESCALATE_AFTER_DAYS = env.int("REMINDER_ESCALATE_AFTER_DAYS", default=3)
REMINDER_SCAN_SECONDS = env.int("REMINDER_SCAN_SECONDS", default=300)
# Health (trains/status.py): amber when the current phase ends within HEALTH_AMBER_DAYS with
# required exit criteria unmet, or when the plan slipped more than HEALTH_AMBER_SLIP_DAYS
# behind its baseline; red when the current phase is overdue.
HEALTH_AMBER_DAYS = env.int("HEALTH_AMBER_DAYS", default=3)
HEALTH_AMBER_SLIP_DAYS = env.int("HEALTH_AMBER_SLIP_DAYS", default=5)
NOTIFICATION_DISPATCH_SECONDS = env.int("NOTIFICATION_DISPATCH_SECONDS", default=60)
NOTIFICATION_DIGEST_HOUR = env.int("NOTIFICATION_DIGEST_HOUR", default=7)
NOTIFICATION_MAX_RETRIES = env.int("NOTIFICATION_MAX_RETRIES", default=5)
NOTIFICATION_RETRY_BACKOFF = env.int("NOTIFICATION_RETRY_BACKOFF", default=30)
NOTIFICATION_RETRY_BACKOFF_MAX = env.int("NOTIFICATION_RETRY_BACKOFF_MAX", default=600)
if not REMINDER_OFFSETS_DAYS or min(REMINDER_OFFSETS_DAYS) < 1:
    raise ImproperlyConfigured("REMINDER_OFFSETS_DAYS needs whole days of at least 1: 7,2,1.")
if REMINDER_ESCALATE_AFTER_DAYS < 1:
    raise ImproperlyConfigured("REMINDER_ESCALATE_AFTER_DAYS must be at least 1.")
if not 0 <= NOTIFICATION_DIGEST_HOUR <= 23:
    raise ImproperlyConfigured("NOTIFICATION_DIGEST_HOUR is an hour of the day, 0 to 23.")

# Cadence (trains/services/templates.py): each schedule keeps its next CADENCE_AHEAD
# trains made; beat runs the schedules every CADENCE_RUN_SECONDS.
CADENCE_AHEAD = env.int("CADENCE_AHEAD", default=2)
CADENCE_RUN_SECONDS = env.int("CADENCE_RUN_SECONDS", default=3600)
if CADENCE_AHEAD < 1:
    raise ImproperlyConfigured("CADENCE_AHEAD is how many trains to make ahead: at least 1.")

CELERY_BEAT_SCHEDULE = {
    "run-cadences": {
        "task": "trains.tasks.run_cadences",
        "schedule": CADENCE_RUN_SECONDS,
    },
    "scan-reminders": {
        "task": "trains.tasks.scan_reminders",
        "schedule": REMINDER_SCAN_SECONDS,
    },
    "dispatch-notifications": {
        "task": "trains.tasks.dispatch_notifications",
        "schedule": NOTIFICATION_DISPATCH_SECONDS,
    },
    "build-digests": {
        "task": "trains.tasks.build_digests",
        "schedule": crontab(hour=NOTIFICATION_DIGEST_HOUR, minute=0),
    },
}

# Behind TLS by default. `make serve` and the CI smoke test speak plain HTTP on localhost
# and turn SECURE_SSL_REDIRECT and the secure cookies off explicitly in the environment.
if PRODUCTION:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Sessions end after SESSION_COOKIE_AGE (12 hours) whatever happens, and when the
# browser closes.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 12)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env.bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", default=True)

# Content-Security-Policy (django-csp 4): everything from this origin only, and no inline
# script or style at all -- the pages have none (static/css/app.css holds the styles;
# htmx's own indicator <style> is off in base.html). Bootstrap's CSS draws a few icons
# as data: SVG images.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Sign-in throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one
# user name from one address, that pair is refused for AXES_COOLOFF_MINUTES with a page
# that says so (HTTP 429). Keyed on the pair, so one person mistyping cannot lock out a
# whole office behind a proxy, and a guesser cannot lock out a user from everywhere.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_USERNAME_CALLABLE = "releasemgr.signin.axes_username"
# Behind a reverse proxy every request comes from the proxy's address: say how many
# proxies there are, and the client's own address is read from X-Forwarded-For.
TRUSTED_PROXIES = env.int("TRUSTED_PROXIES", default=0)
AXES_CLIENT_IP_CALLABLE = "releasemgr.signin.client_ip"
AXES_VERBOSE = False

# Everything to stdout, one line per record: `text` is key=value, `json` one object.
LOGGING = logging_config(
    level=env.str("LOG_LEVEL", default="INFO"), fmt=env.str("LOG_FORMAT", default="text")
)
