"""Telling people what needs them: deadline reminders, event notifications, digests.

- rules.py: which kind of notification a fact is (no queries);
- selectors.py: the reminder scan's query, recipients, pages' reads;
- services.py: the writes (scan, dispatch, delivery, digests, preferences);
- mail.py: rendering and sending one message, and telling lasting failures from passing ones;
- views.py, urls.py, forms.py: the preferences page and the sent-mail pages.

Celery tasks are in trains/tasks.py; they look up ids and call services.py.
"""
