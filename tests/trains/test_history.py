import pytest

from tests.factories import make_train
from trains.models import TrainEvent

pytestmark = pytest.mark.django_db


def test_history_rows_cannot_be_edited_or_deleted(manager):
    train = make_train(manager)
    event = train.events.get()
    event.message = "rewritten"
    with pytest.raises(TypeError, match="never updated"):
        event.save()
    with pytest.raises(TypeError, match="never deleted"):
        event.delete()
    with pytest.raises(TypeError):
        TrainEvent.objects.filter(train=train).update(message="x")
    with pytest.raises(TypeError):
        TrainEvent.objects.filter(train=train).delete()
    assert TrainEvent.objects.get(pk=event.pk).message.startswith("Train ")
