"""The bench's portfolio and metrics data (bench/insight.py) at a size fit for tests:
the pages stay within their query budget and count what was built."""

import re

import pytest
from django.contrib.auth import get_user_model

from bench import insight

pytestmark = pytest.mark.django_db


@pytest.fixture
def built(role_groups):
    insight.build(insight.Size(open_trains=12, closed_trains=30))


def test_the_portfolio_reads_its_open_trains_in_few_queries(
    client, built, django_assert_max_num_queries
):
    user, url = insight.pages()["h_portfolio"]
    client.force_login(get_user_model().objects.get(username=user))
    client.get(url)
    # session, user with its groups; the trains with their phases and their milestones
    # in the window, the freeze windows; the manager filter's choices
    with django_assert_max_num_queries(6):
        response = client.get(url)
    assert response.status_code == 200
    assert response.context["chart"].count == 12


def test_the_metrics_count_two_years_in_few_queries(client, built, django_assert_max_num_queries):
    user, url = insight.pages()["i_metrics"]
    client.force_login(get_user_model().objects.get(username=user))
    client.get(url)
    # session, user with its groups, the inbox count (an approver); the figures' key (the
    # trains' ids, the newest changes); counts by month, spreads, approvers, rejections'
    # reasons; the manager filter's choices
    with django_assert_max_num_queries(9):
        response = client.get(insight.pages()["j_metrics_fresh"][1])
    assert response.status_code == 200
    assert insight.QUERY_LIMIT >= 9
    with django_assert_max_num_queries(5):  # the figures kept: no counting
        kept = client.get(url)
    assert kept.context["figures"].computed_at == response.context["figures"].computed_at
    html = response.content.decode()
    assert "of 30 trains deployed" in html
    ended = re.search(r"of (\d+) phases on time", html)
    assert 110 < int(ended.group(1)) <= 120  # the first trains' early phases fall before
