"""The audit trail: one event for each change staff or the system makes."""

import json
from datetime import datetime
from typing import Any

from store import statements
from store.models import AuditEvent, Practice, utcnow

SYSTEM_ACTOR = "system"

_COLUMNS = ("practice", "actor", "action", "subject_type", "subject_id", "detail", "at")
_append = statements.BuiltOnce(lambda: statements.insert(AuditEvent, _COLUMNS))


def record_event(
    practice: Practice | int,
    actor: str,
    action: str,
    subject: Any,
    detail: dict[str, Any] | str = "",
    *,
    now: datetime | None = None,
) -> None:
    """Append an event saying who did ``action`` to ``subject``, and when.

    Every send writes one, so the insert skips building a model.
    """
    if isinstance(detail, dict):
        detail = json.dumps(detail, default=str, sort_keys=True)

    _append.get().run(
        practice,
        actor or SYSTEM_ACTOR,
        action,
        type(subject).__name__.lower(),
        subject.id,
        detail,
        now or utcnow(),
    )


def events_for(practice: Practice | int, subject: Any) -> list[AuditEvent]:
    """The subject's history, oldest first."""
    return list(
        AuditEvent.for_tenant(practice)
        .where(
            (AuditEvent.subject_type == type(subject).__name__.lower())
            & (AuditEvent.subject_id == subject.id)
        )
        .order_by(AuditEvent.at, AuditEvent.id)
    )
