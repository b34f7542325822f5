"""The inventory's changes: each city, depot, vehicle, site and bin created, changed (the
fields that changed) or deleted, when and by which key; an audit trail, and what a
dispatcher's open page follows (``GET /inventory/changes``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, insert, inspect, select
from sqlalchemy.orm import Session

from api.db import ApiKeyRow, Base, InventoryChangeRow

Change = Literal["created", "changed", "deleted"]


def values_of(row: Base | None) -> dict[str, Any] | None:
    """The column values of ``row`` (None for none): what a change is compared against."""
    if row is None:
        return None
    return {c.key: getattr(row, c.key) for c in inspect(type(row)).column_attrs}


class ChangeLog:
    """The changes of ``resource`` (its list's path: ``"bins"``) one request makes, by the
    key ``key_id``, written together (one statement: a bulk of 10 000 rows logs as many)."""

    def __init__(self, resource: str, key_id: str | None) -> None:
        self.resource, self.key_id = resource, key_id
        self.rows: list[dict[str, Any]] = []

    def note(
        self, ref: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
    ) -> None:
        """``ref`` went from ``before`` to ``after`` (column values; None: not listed);
        nothing noted when no field changed."""
        fields: list[str] = []
        change: Change
        if before is None and after is None:
            return
        if before is None:
            change = "created"
        elif after is None:
            change = "deleted"
        else:
            change = "changed"
            fields = sorted(k for k, v in after.items() if before.get(k) != v)
            if not fields:
                return
        row = {"resource": self.resource, "ref": ref, "change": change, "fields": fields}
        self.rows.append(row | {"key_id": self.key_id})

    def write(self, session: Session) -> None:
        """Insert the changes noted (none: nothing), in the order noted."""
        if self.rows:
            session.execute(insert(InventoryChangeRow), self.rows)
            self.rows = []


def record_change(
    session: Session,
    resource: str,
    ref: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    key_id: str | None,
) -> None:
    """Log ``ref`` of ``resource`` going from ``before`` to ``after`` (a
    :class:`ChangeLog` of one change)."""
    log = ChangeLog(resource, key_id)
    log.note(ref, before, after)
    log.write(session)


def list_changes(
    session: Session,
    *,
    resource: str | None = None,
    ref: str | None = None,
    after_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 1000,
) -> list[tuple[InventoryChangeRow, str | None]]:
    """The changes, the last logged first, each with its key's name (revoked keys stay
    listed; None for a change without a key): of one ``resource`` and ``ref`` when
    given, logged after the change ``after_id``, and in ``[since, until)``."""
    where: list[ColumnElement[bool]] = [
        *([InventoryChangeRow.resource == resource] if resource is not None else []),
        *([InventoryChangeRow.ref == ref] if ref is not None else []),
        *([InventoryChangeRow.id > after_id] if after_id is not None else []),
        *([InventoryChangeRow.at >= since] if since is not None else []),
        *([InventoryChangeRow.at < until] if until is not None else []),
    ]
    query = (
        select(InventoryChangeRow, ApiKeyRow.name)
        .outerjoin(ApiKeyRow, ApiKeyRow.key_id == InventoryChangeRow.key_id)
        .where(*where)
        .order_by(InventoryChangeRow.id.desc())
        .limit(limit)
    )
    return [(row, name) for row, name in session.execute(query).tuples()]
