"""Deployment logs: the dashboard shows the end of each, line breaks kept, with a link to
the whole log on a page of its own, which only those who may see the train can open."""

import re

import pytest

from tests.factories import drive, fresh, make_train
from trains import services

pytestmark = pytest.mark.django_db

LINES = [f"{n:05d} step {n} done" for n in range(400)]  # 400 lines of 21 characters
LONG_LOG = "\n".join(LINES)


@pytest.fixture
def deployed(people):
    train, *_ = drive(make_train(people["manager"]), "deployment", **people)
    failed = services.train_deploy(
        train=train, by=people["engineer"], succeeded=False, log=LONG_LOG
    )
    return fresh(train), failed


def deployments_panel(html: str) -> str:
    return re.search(r'<section id="deployments".*?</section>', html, re.S).group(0)


def test_the_dashboard_shows_the_last_2000_characters_with_their_line_breaks(
    client, people, deployed
):
    train, failed = deployed
    client.force_login(people["qa"])
    panel = deployments_panel(client.get(f"/trains/{train.pk}/").content.decode())
    shown = re.search(r'<pre class="deployment-log[^"]*"[^>]*>(.*?)</pre>', panel, re.S).group(1)
    assert shown == "…" + LONG_LOG[-2000:]
    assert shown.endswith("\n00398 step 398 done\n00399 step 399 done")
    assert "text-wrap" not in panel  # Bootstrap's white-space: normal !important
    assert f"The last 2,000 of {len(LONG_LOG)} characters" in panel
    assert f'href="/trains/{train.pk}/deployments/{failed.pk}/log/"' in panel


def test_a_short_log_is_shown_whole_without_a_link(client, people):
    train, *_ = drive(make_train(people["manager"]), "deployment", **people)
    services.train_deploy(train=train, by=people["engineer"], succeeded=False, log="a\nb")
    client.force_login(people["manager"])
    panel = deployments_panel(client.get(f"/trains/{train.pk}/").content.decode())
    assert re.search(r'<pre class="deployment-log[^"]*"[^>]*>a\nb</pre>', panel)
    assert "Full log" not in panel


def test_the_full_log_page_shows_the_whole_log(client, people, deployed):
    train, failed = deployed
    client.force_login(people["qa"])
    response = client.get(f"/trains/{train.pk}/deployments/{failed.pk}/log/")
    html = response.content.decode()
    assert response.status_code == 200
    assert f">{LONG_LOG}</pre>" in html
    assert f'<a href="/trains/{train.pk}/#deployments">{train.name}</a>' in html
    assert "Failed" in html


def test_the_full_log_is_404_for_whoever_may_not_see_the_train(client, people, deployed, outsider):
    train, failed = deployed
    client.force_login(outsider)
    assert client.get(f"/trains/{train.pk}/deployments/{failed.pk}/log/").status_code == 404


def test_a_deployment_of_another_train_is_404(client, people, deployed):
    train, failed = deployed
    other = make_train(people["manager"])
    client.force_login(people["manager"])
    assert client.get(f"/trains/{other.pk}/deployments/{failed.pk}/log/").status_code == 404


def test_the_full_log_asks_the_anonymous_to_sign_in(client, deployed):
    train, failed = deployed
    response = client.get(f"/trains/{train.pk}/deployments/{failed.pk}/log/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_full_log_refuses_a_post(client, people, deployed):
    train, failed = deployed
    client.force_login(people["manager"])
    assert client.post(f"/trains/{train.pk}/deployments/{failed.pk}/log/").status_code == 405
