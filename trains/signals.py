"""Signals that other apps may listen to; trains itself never imports its listeners.

`train_event_recorded` is sent once the transaction that wrote a history row has
committed (never for a rolled-back change), with the row's id as `event_id`.
"""

from django.dispatch import Signal

train_event_recorded = Signal()
