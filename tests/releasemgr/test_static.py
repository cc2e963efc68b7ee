"""Static files in production: collectstatic writes hashed, compressed copies that
WhiteNoise serves; the vendored source maps must not break it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.management import call_command
from django.templatetags.static import static

pytestmark = pytest.mark.slow

MANIFEST = "whitenoise.storage.CompressedManifestStaticFilesStorage"
ROOT = Path(__file__).resolve().parents[2]


def storage_backend(**environment):
    """The static storage the settings choose for this environment, in a fresh process."""
    code = "from django.conf import settings; print(settings.STORAGES['staticfiles']['BACKEND'])"
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_ENV", "STATIC_MANIFEST")}
    env.update(DJANGO_SETTINGS_MODULE="releasemgr.settings", **environment)
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_production_uses_the_manifest_storage_and_development_does_not():
    production = {
        "DJANGO_ENV": "production",
        "SECRET_KEY": "x" * 50,
        "ALLOWED_HOSTS": "releases.example.com",
        "FERNET_KEYS": "zAfUbaldQ9WqZLGddvAF0jXDnTXMVeYdwkAAPPkewUI=",
    }
    assert storage_backend(**production) == MANIFEST
    assert storage_backend() == "django.contrib.staticfiles.storage.StaticFilesStorage"
    assert storage_backend(STATIC_MANIFEST="true") == MANIFEST


def test_collectstatic_hashes_and_compresses_the_vendored_files(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST}}
    call_command("collectstatic", interactive=False, verbosity=0)

    css = staticfiles_storage.stored_name("vendor/bootstrap/css/bootstrap.min.css")
    assert css != "vendor/bootstrap/css/bootstrap.min.css"
    assert (tmp_path / f"{css}.gz").exists()
    # The source map reference inside the CSS now points at the hashed map.
    hashed_map = staticfiles_storage.stored_name("vendor/bootstrap/css/bootstrap.min.css.map")
    assert f"sourceMappingURL={Path(hashed_map).name}" in (tmp_path / css).read_text()
    assert (
        static("vendor/htmx/htmx.min.js")
        == f"/static/{staticfiles_storage.stored_name('vendor/htmx/htmx.min.js')}"
    )


@pytest.mark.django_db
def test_pages_render_without_collectstatic_outside_production(client):
    # Tests run with DEBUG off; the plain storage needs no manifest.
    assert client.get("/accounts/login/").status_code == 200
