"""History rows are announced once their transaction commits, and never otherwise."""

import pytest
from django.db import transaction

from tests.factories import drive, make_train
from trains import services
from trains.models import Deployment, TrainEvent
from trains.signals import train_event_recorded

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    ids = []

    def listener(sender, event_id, **kwargs):
        ids.append(event_id)

    train_event_recorded.connect(listener)
    yield ids
    train_event_recorded.disconnect(listener)


def test_event_is_announced_after_commit(manager, heard, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        train = make_train(manager)
    assert heard == [train.events.get().pk]


def test_rolled_back_event_is_not_announced(manager, heard, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        make_train(manager)
        raise RuntimeError("abort")
    assert heard == []
    assert not TrainEvent.objects.exists()


def test_deploy_event_names_the_deployment(manager, owner, qa, executive, engineer):
    train = make_train(manager)
    train, *_ = drive(
        train,
        "deployment",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
    )
    deployment = services.train_deploy(train=train, by=engineer, succeeded=False, log="boom")
    event = train.events.get(transition="deploy")
    assert event.data == {"deployment": deployment.pk, "succeeded": False}
    assert Deployment.objects.get(pk=event.data["deployment"]).log == "boom"
