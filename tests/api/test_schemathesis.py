"""Property-based run of the whole API against its own OpenAPI schema (/api/schema/):
no 5xx, and every answer matches the schema. Bounded to MAX_EXAMPLES per operation so
it stays well under a minute.

The schema is fetched from the WSGI application when the module is collected (that
needs no database); the requests run inside the test's transaction.
"""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import checks

from api import services as api_services
from tests.factories import drive, make_train

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 20

app = get_wsgi_application()
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", app)


@pytest.fixture
def manager_token(db, manager, owner, qa, executive, engineer):
    """A release manager's token, and real objects to hit: trains in scoping and in
    deployment with releases, approvers and turnovers."""
    make_train(manager)
    drive(
        make_train(manager),
        "deployment",
        manager=manager,
        owner=owner,
        qa=qa,
        executive=executive,
        engineer=engineer,
    )
    return api_services.token_create(user=manager, name="schemathesis")[1]


@pytest.fixture
def keep_connection():
    """Django closes the connection after each WSGI request; the test client stops it
    from doing so, and so must we, or the test's transaction is lost."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_matches_its_schema(case, manager_token, keep_connection):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {manager_token}"},
        # Left out on purpose: a well-formed id of an object that does not exist is a
        # 400 per field (positive_data_acceptance wants 2xx), and DRF's pagination
        # falls back to the default for a malformed page_size rather than refusing it
        # (negative_data_rejection wants 4xx). Everything else runs, 5xx above all.
        excluded_checks=[checks.positive_data_acceptance, checks.negative_data_rejection],
    )
