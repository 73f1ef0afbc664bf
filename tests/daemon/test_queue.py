"""The wake-up seam: scheduling enqueues an ETA task, and cancelling revokes it."""

from datetime import UTC, datetime, timedelta

from daemon.queue import connect_queue, task_id
from store.consent import grant_consent
from store.home import resolve_home
from store.messages import cancel_message, schedule_message
from store.patients import add_patient
from store.settings import Settings


def test_scheduling_enqueues_a_utc_wakeup_and_cancelling_revokes_it(practice, home_dir):
    settings = Settings.default()
    queue = connect_queue(resolve_home(home_dir))
    patient = add_patient(practice, first_name="Ann", phone="212 555 0101", actor="d")
    grant_consent(practice, patient.id, source="import", actor="d", settings=settings)
    now = datetime.now(UTC)
    at = (now + timedelta(days=1)).replace(hour=15, minute=0, second=0, microsecond=0)

    message = schedule_message(
        practice,
        patient_id=patient.id,
        body="Hello",
        at=at,
        actor="d",
        settings=settings,
        now=now,
    )

    [task] = queue.huey.pending()
    assert task.id == task_id(message.id, message.due_at)
    assert task.args == (message.id,)
    # Huey keeps ETAs as naive UTC; a local-time ETA would be off by hours.
    assert task.eta == message.due_at.astimezone(UTC).replace(tzinfo=None)
    assert not queue.huey.is_revoked(task)

    cancel_message(practice, message.id, actor="d", now=now)

    assert queue.huey.is_revoked(task)
