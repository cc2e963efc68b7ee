"""Rows that are facts: written once, never changed or removed.

The model and queryset below refuse it in the application; on PostgreSQL a trigger
(trains/migrations/0005_history_append_only.py) refuses it to raw SQL as well.
"""

from __future__ import annotations

from django.db import models


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError(f"{self.model._meta.verbose_name_plural} are facts: never updated.")

    def delete(self):
        raise TypeError(f"{self.model._meta.verbose_name_plural} are facts: never deleted.")


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise TypeError(f"{self._meta.verbose_name_plural} are facts: never updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError(f"{self._meta.verbose_name_plural} are facts: never deleted.")
