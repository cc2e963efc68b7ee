"""DJANGO_ENV=production: refuses unsafe values, and `check --deploy` finds nothing.

Each case runs Django in a fresh interpreter, because settings are read once per process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
REAL_KEY = "k3y-" + "x9Qm7Lp2" * 7  # 60 characters, not the development default
HOST = "releases.example.com"
FERNET_KEY = "zAfUbaldQ9WqZLGddvAF0jXDnTXMVeYdwkAAPPkewUI="  # a valid Fernet key


def _example(name: str) -> str:
    """The value .env.example shows for `name`: what someone who copied it has."""
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.startswith(f"{name}="):
            return line.split("=", 1)[1]
    raise AssertionError(f"{name} is not in .env.example")


def _run(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("DJANGO_", "SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "SECURE_", "FERNET_KEYS")
        )
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("secret_key", "allowed_hosts", "complaint"),
    [
        ("", HOST, "needs a real SECRET_KEY"),
        ("dev-only-insecure-secret-key-do-not-use-in-production", HOST, "needs a real SECRET_KEY"),
        ("too-short-a-key", HOST, "needs a real SECRET_KEY"),
        (_example("SECRET_KEY"), HOST, "needs a real SECRET_KEY"),
        (REAL_KEY, "", "needs an explicit ALLOWED_HOSTS"),
        (REAL_KEY, "*", "needs an explicit ALLOWED_HOSTS"),
    ],
    ids=["no-key", "dev-key", "short-key", "example-key", "no-hosts", "any-host"],
)
def test_production_refuses_to_start_with_unsafe_values(secret_key, allowed_hosts, complaint):
    result = _run(
        "manage.py",
        "check",
        DJANGO_ENV="production",
        SECRET_KEY=secret_key,
        ALLOWED_HOSTS=allowed_hosts,
        FERNET_KEYS=FERNET_KEY,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and complaint in result.stderr


def test_production_refuses_to_start_without_its_own_fernet_keys():
    """Development derives a key from SECRET_KEY; production must not tie the webhook
    secrets to it (README, "Secrets at rest")."""
    result = _run(
        "manage.py", "check", DJANGO_ENV="production", SECRET_KEY=REAL_KEY, ALLOWED_HOSTS=HOST
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "needs FERNET_KEYS" in result.stderr


def test_check_deploy_gives_no_warning_under_production_settings():
    result = _run(
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_ENV="production",
        SECRET_KEY=REAL_KEY,
        ALLOWED_HOSTS=HOST,
        FERNET_KEYS=FERNET_KEY,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    print(result.stdout.strip())


def test_production_turns_on_secure_cookies_hsts_and_csp():
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({k: getattr(s, k) for k in ["
        "'DEBUG', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', "
        "'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', "
        "'SECURE_HSTS_PRELOAD', 'SECURE_CONTENT_TYPE_NOSNIFF', 'X_FRAME_OPTIONS', "
        "'SESSION_COOKIE_AGE', 'SESSION_EXPIRE_AT_BROWSER_CLOSE', 'CONTENT_SECURITY_POLICY', "
        "'MIDDLEWARE', 'AUTHENTICATION_BACKENDS', 'AXES_FAILURE_LIMIT']}, default=str))"
    )
    result = _run(
        "-c",
        script,
        DJANGO_ENV="production",
        DJANGO_SETTINGS_MODULE="releasemgr.settings",
        SECRET_KEY=REAL_KEY,
        ALLOWED_HOSTS=HOST,
        FERNET_KEYS=FERNET_KEY,
    )
    assert result.returncode == 0, result.stderr
    s = json.loads(result.stdout)
    assert s["DEBUG"] is False
    assert s["SESSION_COOKIE_SECURE"] and s["CSRF_COOKIE_SECURE"] and s["SESSION_COOKIE_HTTPONLY"]
    assert s["SECURE_SSL_REDIRECT"]
    assert s["SECURE_HSTS_SECONDS"] >= 31536000
    assert s["SECURE_HSTS_INCLUDE_SUBDOMAINS"] and s["SECURE_HSTS_PRELOAD"]
    assert s["SECURE_CONTENT_TYPE_NOSNIFF"] and s["X_FRAME_OPTIONS"] == "DENY"
    assert s["SESSION_COOKIE_AGE"] <= 12 * 3600 and s["SESSION_EXPIRE_AT_BROWSER_CLOSE"]
    directives = s["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]
    assert directives["script-src"] == ["'self'"] and directives["style-src"] == ["'self'"]
    assert "csp.middleware.CSPMiddleware" in s["MIDDLEWARE"]
    assert s["MIDDLEWARE"][-1] == "axes.middleware.AxesMiddleware"
    assert s["AUTHENTICATION_BACKENDS"][0] == "axes.backends.AxesStandaloneBackend"
    assert 1 <= s["AXES_FAILURE_LIMIT"] <= 10


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="no docker-compose here")
def test_compose_refuses_to_start_without_a_database_password_or_fernet_keys(tmp_path):
    """`${POSTGRES_PASSWORD:?...}`, `${FERNET_KEYS:?...}`: no default password and no
    production start without the keys of the secrets; `up` stops where `config` does."""
    (tmp_path / ".env").write_text("")  # compose reads .env beside the file; keep it empty
    compose = tmp_path / "docker-compose.yml"
    compose.write_text((ROOT / "docker-compose.yml").read_text())
    clean = {k: v for k, v in os.environ.items() if k not in ("POSTGRES_PASSWORD", "FERNET_KEYS")}

    def config(**env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["docker-compose", "-f", str(compose), "config", "--quiet"],
            cwd=tmp_path,
            env={**clean, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    refused = config(FERNET_KEYS=FERNET_KEY)
    assert refused.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in refused.stderr
    assert config(POSTGRES_PASSWORD="", FERNET_KEYS=FERNET_KEY).returncode != 0
    no_keys = config(POSTGRES_PASSWORD="s3cret-enough")
    assert no_keys.returncode != 0
    assert "set FERNET_KEYS in .env" in no_keys.stderr
    accepted = config(POSTGRES_PASSWORD="s3cret-enough", FERNET_KEYS=FERNET_KEY)
    assert accepted.returncode == 0, accepted.stderr
