"""A process that serves pages sets aside, after its first request, what it loaded to
serve them (releasemgr.memory): the collector walks only what requests make."""

import gc

import pytest
from django.core.signals import request_finished

from releasemgr import memory

pytestmark = pytest.mark.django_db


def test_the_first_request_freezes_what_is_loaded_and_later_ones_do_not_again(client, manager):
    gc.unfreeze()
    memory.freeze_after_first_request()
    client.force_login(manager)
    assert client.get("/trains/").status_code == 200
    frozen = gc.get_freeze_count()
    assert frozen > 10_000  # Django, the apps, the URL patterns, the templates
    assert all(key[0] != "releasemgr.memory.freeze" for key, *_ in request_finished.receivers)
    assert client.get("/trains/").status_code == 200
    assert gc.get_freeze_count() <= frozen  # once a process: none added since
