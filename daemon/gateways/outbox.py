"""The outbox gateway: texts are appended to a JSON-lines file, not sent."""

import fcntl
import json
import logging
import os
import threading
import uuid
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from pathlib import Path

from store.sms import sms_segments

from .base import Accepted, ErrorKind, GatewayError, Outgoing

log = logging.getLogger(__name__)

RECONCILE_SLACK = timedelta(seconds=60)
"""A line written this long before the claim still counts as this send."""


class OutboxGateway:
    """Appends each text to ``path`` as one JSON line and counts it as sent.

    A line holds ``sid`` ("OB" + hex), ``message_id``, ``to``, ``body``,
    ``segments``, ``encoding`` and ``at`` (ISO 8601 UTC). It is the default
    when no Twilio account is set up, for demos and trials.

    Each line is written whole and synced before ``send`` returns, under a
    thread lock and an fcntl lock, so several workers and processes may share
    one file. The file is readable by its owner only: it holds numbers and
    texts.
    """

    name = "outbox"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OutboxGateway({str(self.path)!r})"

    def send(self, outgoing: Outgoing) -> Accepted:
        """Append the text and sync it to disk.

        Raises GatewayError (RETRY) when the file cannot be written, which
        leaves no line behind except, at worst, a torn one that readers skip.
        """
        info = sms_segments(outgoing.body)
        sid = "OB" + uuid.uuid4().hex
        record = {
            "sid": sid,
            "message_id": outgoing.message_id,
            "to": outgoing.to,
            "body": outgoing.body,
            "segments": info.segments,
            "encoding": info.encoding,
            "at": datetime.now(UTC).isoformat(),
        }
        line = json.dumps(record, ensure_ascii=False) + "\n"

        try:
            self._append(line.encode("utf-8"))
        except OSError as exc:
            log.warning(
                "message %s not written to the outbox: %s",
                outgoing.message_id,
                exc.strerror,
            )
            raise GatewayError(
                ErrorKind.RETRY,
                f"The outbox file {self.path} cannot be written "
                f"({exc.strerror}); the text will be tried again. Ask your IT "
                "person to check the disk and the folder's permissions.",
            ) from exc

        log.info(
            "message %s written to the outbox as %s",
            outgoing.message_id,
            sid,
        )
        return Accepted(sid, info.segments, self.name)

    def find_sent(
        self,
        to: str,
        since: datetime,
        body: str,
        message_id: int,
        exclude: Collection[str] = (),
    ) -> Accepted | None:
        """Return the newest outbox line for this message written since
        ``since`` (less ``RECONCILE_SLACK``), or None.

        Unreadable lines, such as one torn by a crash, are skipped. Raises
        GatewayError (RETRY) when the file exists but cannot be read.
        """
        cutoff = since - RECONCILE_SLACK
        found: Accepted | None = None

        try:
            with self.path.open("rb") as file:
                for raw in file:
                    record = _parse(raw)
                    if (
                        record is not None
                        and record.get("message_id") == message_id
                        and record.get("to") == to
                        and record.get("body") == body
                        and record.get("sid") not in exclude
                        and _when(record) >= cutoff
                    ):
                        found = Accepted(
                            record["sid"], record.get("segments"), self.name
                        )
        except FileNotFoundError:
            found = None
        except OSError as exc:
            raise GatewayError(
                ErrorKind.RETRY,
                f"The outbox file {self.path} cannot be read ({exc.strerror}).",
            ) from exc

        log.info(
            "message %s: outbox %s",
            message_id,
            f"already has it as {found.provider_sid}" if found else "has no record",
        )
        return found

    def close(self) -> None:
        """Nothing to release: the file is opened for each write."""

    def _append(self, data: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT
        with self._lock:
            fd = os.open(self.path, flags, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)

                # A crash mid-write leaves a line with no newline; start a
                # fresh line so this record is not glued onto it.
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data

                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
            finally:
                os.close(fd)


def _parse(raw: bytes) -> dict | None:
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    return record if isinstance(record, dict) and "sid" in record else None


def _when(record: dict) -> datetime:
    try:
        at = datetime.fromisoformat(record["at"])
    except (KeyError, TypeError, ValueError):
        return datetime.min.replace(tzinfo=UTC)
    return at if at.tzinfo else at.replace(tzinfo=UTC)
