"""The practice's records: patients, consent, appointments and the message queue.

Every row but the practice itself belongs to one practice. ``for_tenant`` is
the way in for queries, and saving a row that points at another practice's
row raises ``CrossPracticeLink``.
"""

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cached_property
from typing import Any, Self
from zoneinfo import ZoneInfo

import peewee

from store.db import database
from store.errors import CrossPracticeLink


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTimeField(peewee.DateTimeField):
    """An instant, stored as fixed-width naive UTC text and read back aware.

    NOTE: SQLite compares these as text, so every value must be written in the
    same zone and the same width, or ordering and range queries go wrong.
    """

    STORED_FORMAT = "%Y-%m-%d %H:%M:%S.%f"

    def db_value(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"{self.name} needs an aware datetime, got {value!r}")
        return value.astimezone(UTC).strftime(self.STORED_FORMAT)

    def python_value(self, value: object) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            parsed = value
        else:
            parsed = datetime.fromisoformat(str(value))
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)


class BaseModel(peewee.Model):
    id = peewee.AutoField()

    class Meta:
        database = database
        legacy_table_names = False


class Practice(BaseModel):
    """The tenant: one clinic, dental office or salon."""

    name = peewee.CharField(max_length=200)
    timezone = peewee.CharField(max_length=64)
    region = peewee.CharField(max_length=2, default="US")
    created_at = UTCDateTimeField(default=utcnow)

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, instant: datetime) -> datetime:
        """The instant as the practice's wall-clock time."""
        return instant.astimezone(self.zone)


class TenantModel(BaseModel):
    """A row that belongs to one practice."""

    practice = peewee.ForeignKeyField(Practice, on_delete="CASCADE")
    practice_id: int

    @classmethod
    def for_tenant(cls, practice: Practice | int) -> "peewee.ModelSelect[Self]":
        """Every query starts here, so no screen or task sees another practice."""
        return cls.select().where(cls.practice == practice)

    def save(self, force_insert: bool = False, only: Any = None) -> int:
        self.check_same_practice()
        return super().save(force_insert=force_insert, only=only)

    def check_same_practice(self) -> None:
        """Raise CrossPracticeLink when a linked row belongs to another practice."""
        own = self.__data__.get("practice")
        for field in self._meta.refs:
            if field.name == "practice" or not issubclass(field.rel_model, TenantModel):
                continue

            linked = self.__rel__.get(field.name)
            if linked is not None:
                other = linked.__data__.get("practice")
            else:
                linked_id = self.__data__.get(field.name)
                if linked_id is None:
                    continue
                other = (
                    field.rel_model.select(field.rel_model.practice)
                    .where(field.rel_model.id == linked_id)
                    .scalar()
                )

            if other is not None and own is not None and other != own:
                raise CrossPracticeLink(
                    f"{type(self).__name__} of practice {own} cannot link "
                    f"{field.rel_model.__name__} {linked_id_of(self, field)} "
                    f"of practice {other}."
                )


def linked_id_of(row: peewee.Model, field: peewee.ForeignKeyField) -> object:
    return row.__data__.get(field.name)


class Patient(TenantModel):
    first_name = peewee.CharField(max_length=100)
    last_name = peewee.CharField(max_length=100, default="")
    phone = peewee.CharField(max_length=20)
    external_id = peewee.CharField(max_length=100, null=True)
    # Case-folded copies of the names, so search-as-you-type is an index range
    # scan on any database rather than a case-insensitive LIKE over the table.
    first_key = peewee.CharField(max_length=100, default="")
    last_key = peewee.CharField(max_length=100, default="")
    # The number's digits reversed: staff type the last digits of a number,
    # and a suffix is a prefix of this, so that search is an index range too.
    phone_tail = peewee.CharField(max_length=20, default="")
    created_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("practice", "last_key", "first_key"), False),
            (("practice", "first_key"), False),
            (("practice", "phone"), False),
            (("practice", "phone_tail"), False),
            (("practice", "external_id"), True),
        )

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def save(self, force_insert: bool = False, only: Any = None) -> int:
        self.first_key = search_key(self.first_name)
        self.last_key = search_key(self.last_name)
        self.phone_tail = phone_tail_key(self.phone)
        return super().save(force_insert=force_insert, only=only)


def search_key(text: str) -> str:
    """The form names are stored and searched in: trimmed and case-folded."""
    return " ".join(text.split()).casefold()


def phone_tail_key(phone: str) -> str:
    """The digits of a number, last first: '+12125550134' -> '43105552121'."""
    return "".join(ch for ch in phone if ch in "0123456789")[::-1]


class ConsentSource(StrEnum):
    FRONT_DESK_VERBAL = "front_desk_verbal"
    WRITTEN_FORM = "written_form"
    IMPORT = "import"
    CARRIER_OPT_OUT = "carrier_opt_out"
    STOP_REPLY = "stop_reply"


class Channel(StrEnum):
    SMS = "sms"


class ConsentRecord(TenantModel):
    """One grant or revocation. The history is append-only; the latest counts."""

    patient = peewee.ForeignKeyField(Patient, backref="consents", on_delete="CASCADE")
    patient_id: int
    channel = peewee.CharField(max_length=10, default=Channel.SMS)
    granted = peewee.BooleanField()
    source = peewee.CharField(max_length=30)
    recorded_by = peewee.CharField(max_length=100)
    recorded_at = UTCDateTimeField(default=utcnow)
    note = peewee.TextField(default="")

    class Meta:
        indexes = ((("patient", "channel", "recorded_at"), False),)


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    NO_SHOW = "no_show"


class Appointment(TenantModel):
    patient = peewee.ForeignKeyField(
        Patient, backref="appointments", on_delete="CASCADE"
    )
    patient_id: int
    provider = peewee.CharField(max_length=100, default="")
    starts_at = UTCDateTimeField()
    duration_minutes = peewee.IntegerField(default=30)
    status = peewee.CharField(max_length=20, default=AppointmentStatus.BOOKED)
    external_id = peewee.CharField(max_length=100, null=True)
    # Why reminders are missing, in the desk's words ("24 h reminder skipped:
    # booked 3 h ahead"); empty when every reminder is in place.
    reminder_note = peewee.TextField(default="")
    created_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("practice", "starts_at"), False),
            (("practice", "external_id"), True),
            (("patient", "starts_at"), False),
        )

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)


class MessageStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


FINAL_STATUSES = frozenset(
    {MessageStatus.SENT, MessageStatus.CANCELLED, MessageStatus.EXPIRED}
)
# The statuses in which a reminder still stands for its slot; at most one row
# per appointment, offset and channel may be in one of them.
LIVE_STATUSES = (
    MessageStatus.PENDING,
    MessageStatus.SENDING,
    MessageStatus.FAILED,
    MessageStatus.UNKNOWN,
)


class MessageKind(StrEnum):
    MANUAL = "manual"
    REMINDER = "reminder"


class SentMessage(TenantModel):
    """What went out: the text as sent, the provider's id and the consent used.

    NOTE: neither link is indexed. Nothing reads sent records by patient or
    by consent, and an index on either costs every send a write to a random
    page once the history is large. Patients and consent records are never
    deleted, so the links' ON DELETE actions never have to search for rows.
    """

    patient = peewee.ForeignKeyField(Patient, on_delete="CASCADE", index=False)
    patient_id: int
    to_number = peewee.CharField(max_length=20)
    body = peewee.TextField()
    provider_sid = peewee.CharField(max_length=64)
    segments = peewee.IntegerField(null=True)
    encoding = peewee.CharField(max_length=10, default="")
    gateway = peewee.CharField(max_length=20)
    consent = peewee.ForeignKeyField(
        ConsentRecord, null=True, on_delete="SET NULL", index=False
    )
    consent_id: int | None
    sent_at = UTCDateTimeField(default=utcnow)


class ScheduledMessage(TenantModel):
    """An outgoing text and its place in the lifecycle; the truth of what goes out."""

    # Found through the (patient, status) index below.
    patient = peewee.ForeignKeyField(
        Patient, backref="messages", on_delete="CASCADE", index=False
    )
    patient_id: int
    to_number = peewee.CharField(max_length=20)
    # Manual messages keep the staff's text here. A reminder is rendered when it
    # is sent, from the appointment as it is then, and the result stored here.
    body = peewee.TextField(default="")
    kind = peewee.CharField(max_length=10, default=MessageKind.MANUAL)
    appointment = peewee.ForeignKeyField(
        Appointment, null=True, backref="reminders", on_delete="CASCADE"
    )
    appointment_id: int | None
    reminder_offset = peewee.IntegerField(null=True)  # seconds before the start
    channel = peewee.CharField(max_length=10, default=Channel.SMS)
    status = peewee.CharField(max_length=10, default=MessageStatus.PENDING)
    # scheduled_for is the time staff or the reminder rule asked for; due_at is
    # when the next attempt may run, moved by quiet hours and retry backoff.
    scheduled_for = UTCDateTimeField()
    due_at = UTCDateTimeField()
    attempts = peewee.IntegerField(default=0)
    last_error_code = peewee.CharField(max_length=20, default="")
    last_error = peewee.TextField(default="")
    provider_sid = peewee.CharField(max_length=64, default="")
    segments = peewee.IntegerField(null=True)
    claimed_at = UTCDateTimeField(null=True)
    # Set by each claim, so a batch claimer can read back exactly its own rows.
    # Never searched on alone (always with the id), so it has no index.
    claim_token = peewee.CharField(max_length=32, default="")
    sent_at = UTCDateTimeField(null=True)
    failed_at = UTCDateTimeField(null=True)
    cancelled_at = UTCDateTimeField(null=True)
    expired_at = UTCDateTimeField(null=True)
    created_by = peewee.CharField(max_length=100)
    created_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)
    sent_message = peewee.ForeignKeyField(SentMessage, null=True, on_delete="SET NULL")
    sent_message_id: int | None
    # Bumped on every move, so a wake-up task can tell it is out of date.
    version = peewee.IntegerField(default=1)

    class Meta:
        indexes = (
            (("practice", "status", "due_at"), False),
            (("practice", "scheduled_for"), False),
            (("patient", "status"), False),
        )

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    def is_due(self, now: datetime | None = None) -> bool:
        """True when the message is pending and its time has come."""
        now = now or utcnow()
        return self.status == MessageStatus.PENDING and self.due_at <= now


ScheduledMessage.add_index(
    ScheduledMessage.index(
        ScheduledMessage.appointment,
        ScheduledMessage.reminder_offset,
        ScheduledMessage.channel,
        unique=True,
        where=(
            ScheduledMessage.appointment.is_null(False)
            & ScheduledMessage.status.in_([str(s) for s in LIVE_STATUSES])
        ),
    )
)


class AuditEvent(TenantModel):
    """Who changed what and when: consent, appointments and messages."""

    actor = peewee.CharField(max_length=100)
    action = peewee.CharField(max_length=50)
    subject_type = peewee.CharField(max_length=30)
    subject_id = peewee.IntegerField()
    detail = peewee.TextField(default="")
    at = UTCDateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("practice", "subject_type", "subject_id"), False),
            (("practice", "at"), False),
        )


class Heartbeat(TenantModel):
    """The daemon's last word for a practice: when it swept and what is wrong."""

    practice = peewee.ForeignKeyField(Practice, unique=True, on_delete="CASCADE")
    last_sweep_at = UTCDateTimeField(null=True)
    started_at = UTCDateTimeField(null=True)
    version = peewee.CharField(max_length=30, default="")
    gateway = peewee.CharField(max_length=20, default="")
    error = peewee.TextField(default="")
    summary = peewee.TextField(default="")
    pid = peewee.IntegerField(null=True)


ALL_MODELS = [
    Practice,
    Patient,
    ConsentRecord,
    Appointment,
    SentMessage,
    ScheduledMessage,
    AuditEvent,
    Heartbeat,
]
