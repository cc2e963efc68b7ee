"""POST /api/v1/application-releases/<id>/move/"""

import pytest

from tests.factories import fresh, make_train, scope

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _executives(executive):
    """scope() asks the executives group for approval: it needs a member."""


def test_move_through_the_api(api_as, manager, owner, other_manager):
    source = make_train(manager, name="March train")
    _d, _e, rels = scope(source, manager=manager, owner=owner, releases=1)
    target = make_train(manager, name="April train")
    api = api_as(manager)
    url = f"/api/v1/application-releases/{rels[0].pk}/move/"

    refused = api.post(url, {"train": target.pk, "reason": "Late"})
    assert refused.status_code == 409
    assert "last application release" in refused.json()["detail"]

    moved = api.post(url, {"train": target.pk, "reason": "Late", "leave_empty": True})
    assert moved.status_code == 200, moved.json()
    assert moved.json()["train"] == target.pk and fresh(rels[0]).train_id == target.pk

    assert api.post(url, {"train": target.pk}).status_code == 400  # no reason
    assert api.post(url, {"train": 10**12, "reason": "x"}).status_code == 400
    theirs = make_train(other_manager)
    assert api.post(url, {"train": theirs.pk, "reason": "x"}).status_code == 400  # unseen
    assert api_as(owner).post(url, {"train": target.pk, "reason": "x"}).status_code == 403
