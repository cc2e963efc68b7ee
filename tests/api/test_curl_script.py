"""The issue's "done when": a script with only curl and tokens runs a whole train,
against a real server (Django's live server)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from api import services as api_services
from trains.models import ReleaseTrain

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "api-train.sh"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl"),
]


def test_curl_script_runs_a_train_to_closed(live_server, manager, owner, executive, engineer):
    def token(user):
        return api_services.token_create(user=user, name="script")[1]

    env = {
        **os.environ,
        "BASE": live_server.url,
        "MANAGER_TOKEN": token(manager),
        "OWNER_TOKEN": token(owner),
        "EXECUTIVE_TOKEN": token(executive),
        "ENGINEER_TOKEN": token(engineer),
        "TRAIN_NAME": "Curl train",
    }
    done = subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "is closed" in done.stdout
    assert ReleaseTrain.objects.get(name="Curl train").state == "closed"
