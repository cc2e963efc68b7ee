"""Python's cyclic garbage collector in a process that serves pages.

Such a process loads Django, the apps, the URL patterns, the templates and the compiled
SQL once: about 140,000 objects that live as long as it does, and every full collection
walks them all again (4 ms a request on the inbox, 2 on the dashboard: gc.callbacks on
the bench dataset). Once the first request has loaded what pages need, `gc.freeze()`
sets them aside, after a collection so that no garbage is kept: later collections walk
only what requests make. A Celery worker serves no request and is left as it is.
"""

from __future__ import annotations

import gc

from django.core.signals import request_finished

_UID = "releasemgr.memory.freeze"


def _freeze(**_kwargs) -> None:
    request_finished.disconnect(dispatch_uid=_UID)
    gc.collect()
    gc.freeze()


def freeze_after_first_request() -> None:
    request_finished.connect(_freeze, dispatch_uid=_UID, weak=False)
