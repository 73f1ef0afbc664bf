"""A Twilio-compatible Messages API on 127.0.0.1 with scripted faults.

Run ``python -m tests.fakes.fake_twilio --help`` to serve one by hand.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import logging
import random
import secrets
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.fakes.twilio_rules import (
    API_VERSION,
    FakeMessage,
    check_create,
    count_segments,
    error_body,
    filter_messages,
    message_resource,
    smart_encode,
)

__all__ = [
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "FAULT_KINDS",
    "FakeMessage",
    "FakeRequest",
    "FakeTwilio",
    "count_segments",
    "main",
]

log = logging.getLogger(__name__)

DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
DEFAULT_AUTH_TOKEN = "f" * 32
FAULT_KINDS = (
    "ok",
    "500",
    "503",
    "429",
    "slow",
    "drop_after_accept",
    "drop_before_accept",
    "auth",
)


@dataclass(frozen=True)
class FakeRequest:
    """One request as the fake saw it; ``status`` is None when it never answered."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    status: int | None
    at: float
    fault: str | None = None
    auth_user: str | None = None


@dataclass
class _Reply:
    status: int | None
    payload: dict[str, Any] | None = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


def _error(status: int, code: int, message: str) -> _Reply:
    return _Reply(status, error_body(status, code, message))


class FakeTwilio:
    """A Twilio Messages API on 127.0.0.1 with faults a test can script.

    Use as a context manager, or call ``start()`` and ``stop()``. All state is
    guarded by one lock, so tests may read it while requests are in flight.
    """

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        *,
        port: int = 0,
        slow_seconds: float = 30.0,
    ) -> None:
        self.account_sid = account_sid
        self.slow_seconds = slow_seconds
        # Stamps date_created; a test that passes time in sets it to its clock,
        # so reconciling by creation time sees the same "now" as the daemon.
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._port = port
        self._credentials = {account_sid: auth_token}
        self._lock = threading.Condition()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._seq = 0
        self.reset()

    # Lifecycle

    def start(self) -> FakeTwilio:
        """Bind 127.0.0.1 on the given (default: ephemeral) port and serve."""
        fake = self

        class Handler(_Handler):
            owner = fake

        self._stopping.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-twilio",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cut every open connection, including slow ones."""
        if self._server is None:
            return

        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._server = None

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeTwilio is not running; call start() first")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # Configuration

    def add_api_key(self, key_sid: str, secret: str) -> None:
        """Accept ``key_sid``/``secret`` as Basic auth for this account."""
        with self._lock:
            self._credentials[key_sid] = secret

    def script(self, *faults: str) -> None:
        """Queue faults, consumed one per create request ("ok" = no fault)."""
        for fault in faults:
            self._check_kind(fault)
        with self._lock:
            self._script.extend(faults)

    def set_fault_rate(
        self, kind: str, probability: float, seed: int | None = None
    ) -> None:
        """Inject ``kind`` into that share of create requests (0 turns it off).

        A seed reseeds the one generator shared by all kinds.
        """
        self._check_kind(kind)
        with self._lock:
            if probability <= 0:
                self._rates.pop(kind, None)
            else:
                self._rates[kind] = probability
            if seed is not None:
                self._random.seed(seed)

    def set_status(self, sid: str, status: str, error_code: int | None = None) -> None:
        """Move an accepted message on, as delivery reports would."""
        with self._lock:
            for index, message in enumerate(self._messages):
                if message.sid == sid:
                    self._messages[index] = replace(
                        message, status=status, error_code=error_code
                    )
                    return
        raise KeyError(sid)

    def reset(self) -> None:
        """Forget messages, requests, faults and list failures."""
        with self._lock:
            self._messages: list[FakeMessage] = []
            self._requests: list[FakeRequest] = []
            self._script: deque[str] = deque()
            self._rates: dict[str, float] = {}
            self._random = random.Random()
            self.list_fails = 0
            # Set by a test standing in for a Messaging Service that has it on.
            self.smart_encoding = False
            self._lock.notify_all()

    # Recording

    @property
    def messages(self) -> list[FakeMessage]:
        with self._lock:
            return list(self._messages)

    @property
    def requests(self) -> list[FakeRequest]:
        with self._lock:
            return list(self._requests)

    def messages_to(self, number: str) -> list[FakeMessage]:
        """Accepted messages to ``number``, oldest first."""
        return [m for m in self.messages if m.to == number]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[FakeMessage]:
        """Block until at least ``count`` messages were accepted.

        Raises TimeoutError saying how many arrived.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"FakeTwilio accepted {len(self._messages)} of "
                        f"{count} messages within {timeout} s"
                    )
                self._lock.wait(remaining)
            return list(self._messages)

    # Request handling, called from server threads

    @staticmethod
    def _check_kind(kind: str) -> None:
        name = kind.split(":", 1)[0]
        if name not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; use one of {FAULT_KINDS}")

    def _next_fault(self) -> str | None:
        with self._lock:
            if self._script:
                fault = self._script.popleft()
                return None if fault == "ok" else fault
            draw = self._random.random()
            for kind, probability in self._rates.items():
                if draw < probability:
                    return kind
                draw -= probability
            return None

    def _authenticate(self, header: str | None) -> str | None:
        """Return the Basic-auth user when the credentials are right."""
        if not header or not header.startswith("Basic "):
            return None
        try:
            decoded = base64.b64decode(header[6:], validate=True).decode()
        except ValueError:
            return None
        user, _, password = decoded.partition(":")
        with self._lock:
            expected = self._credentials.get(user)
        if expected is None or not secrets.compare_digest(expected, password):
            return None
        return user

    def _record(self, request: FakeRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _create(self, account: str, form: dict[str, str]) -> _Reply:
        to = form.get("To", "").strip()
        from_ = form.get("From", "").strip() or None
        service = form.get("MessagingServiceSid", "").strip() or None
        body = form.get("Body", "")

        refusal = check_create(form)
        if refusal is not None:
            return _error(*refusal)

        now = self.clock()
        with self._lock:
            if self.smart_encoding:
                body = smart_encode(body)
            self._seq += 1
            message = FakeMessage(
                sid="SM" + secrets.token_hex(16),
                account_sid=account,
                to=to,
                from_=from_,
                body=body,
                messaging_service_sid=service,
                num_segments=count_segments(body),
                received_at=time.time(),
                date_created=now,
                seq=self._seq,
            )
            self._messages.append(message)
            self._lock.notify_all()
        return _Reply(201, message_resource(message))

    def _list(self, account: str, query: dict[str, str]) -> _Reply:
        with self._lock:
            if self.list_fails > 0:
                self.list_fails -= 1
                return _error(500, 20500, "An internal server error has occurred")
            rows = [m for m in self._messages if m.account_sid == account]

        rows = filter_messages(rows, query)
        rows.sort(key=lambda m: (m.date_created, m.seq), reverse=True)

        try:
            size = min(max(int(query.get("PageSize", 50)), 1), 1000)
            page = max(int(query.get("Page", 0)), 0)
        except ValueError:
            return _error(400, 20001, "Invalid paging parameter.")

        start = page * size
        token = query.get("PageToken", "")
        if token.startswith("PA"):
            after = [i for i, m in enumerate(rows) if m.sid == token[2:]]
            if after:
                start = after[0] + 1
        chunk = rows[start : start + size]

        filters = {
            key: value
            for key, value in query.items()
            if key not in ("Page", "PageSize", "PageToken")
        }
        base = f"/{API_VERSION}/Accounts/{account}/Messages.json"

        def page_uri(number: int, token: str | None = None) -> str:
            params = dict(filters, PageSize=size, Page=number)
            if token:
                params["PageToken"] = token
            return f"{base}?{urlencode(params)}"

        has_next = start + size < len(rows)
        payload = {
            "messages": [message_resource(m) for m in chunk],
            "page": page,
            "page_size": size,
            "start": start,
            "end": start + max(len(chunk) - 1, 0),
            "uri": page_uri(page, token or None),
            "first_page_uri": page_uri(0),
            "next_page_uri": (
                page_uri(page + 1, "PA" + chunk[-1].sid) if has_next and chunk else None
            ),
            "previous_page_uri": page_uri(page - 1) if page > 0 else None,
        }
        return _Reply(200, payload)

    def _fetch(self, account: str, sid: str, path: str) -> _Reply:
        with self._lock:
            for message in self._messages:
                if message.sid == sid and message.account_sid == account:
                    return _Reply(200, message_resource(message))
        return _error(404, 20404, f"The requested resource {path} was not found")


class _Handler(BaseHTTPRequestHandler):
    """Routes one connection's requests to the owning FakeTwilio."""

    owner: FakeTwilio
    protocol_version = "HTTP/1.1"
    server_version = "FakeTwilio/1.0"
    # An idle keep-alive connection is dropped after this long.
    timeout = 60
    # Headers and body go out in separate writes; without this, Nagle and
    # delayed ACKs add 40 ms to every keep-alive request.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        with self.owner._lock:
            self.owner._connections.add(self.connection)

    def finish(self) -> None:
        with self.owner._lock:
            self.owner._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The query string holds patients' numbers; log the path only.
        log.debug(
            "fake twilio: %s %s -> %s", self.command, urlsplit(self.path).path, code
        )

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("fake twilio: " + format, *args)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        owner = self.owner
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        form = {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}

        parts = url.path.strip("/").split("/")
        is_create = (
            method == "POST"
            and len(parts) == 4
            and parts[:2] == [API_VERSION, "Accounts"]
            and parts[3] == "Messages.json"
        )
        fault = owner._next_fault() if is_create else None

        user = owner._authenticate(self.headers.get("Authorization"))
        reply = self._route(method, parts, url.path, query, form, user, fault)

        if fault in ("drop_after_accept", "drop_before_accept"):
            # Closing without a status line looks like a dropped connection.
            self.close_connection = True
            reply = _Reply(None)

        # Recorded before a slow reply waits, with the status it will carry.
        owner._record(
            FakeRequest(
                method=method,
                path=url.path,
                query=query,
                form=_without_secrets(form),
                status=reply.status,
                at=time.time(),
                fault=fault,
                auth_user=user,
            )
        )
        if reply.delay and owner._stopping.wait(reply.delay):
            self.close_connection = True
            return
        if reply.status is not None:
            self._write(reply)

    def _route(
        self,
        method: str,
        parts: list[str],
        path: str,
        query: dict[str, str],
        form: dict[str, str],
        user: str | None,
        fault: str | None,
    ) -> _Reply:
        owner = self.owner
        if fault == "drop_before_accept":
            return _Reply(None)
        if fault in ("500", "503", "429", "auth"):
            return {
                "500": _error(500, 20500, "An internal server error has occurred"),
                "503": _error(503, 20503, "Service Unavailable"),
                "429": _error(429, 20429, "Too Many Requests"),
                "auth": _error(401, 20003, "Authenticate"),
            }[fault]

        if len(parts) < 3 or parts[:2] != [API_VERSION, "Accounts"]:
            return _error(404, 20404, f"The requested resource {path} was not found")
        account = parts[2]
        if user is None or account != owner.account_sid:
            reply = _error(401, 20003, "Authenticate")
            reply.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
            return reply

        if parts[3:] == ["Messages.json"] and method == "POST":
            reply = owner._create(account, form)
        elif parts[3:] == ["Messages.json"] and method == "GET":
            reply = owner._list(account, query)
        elif (
            len(parts) == 5
            and parts[3] == "Messages"
            and parts[4].endswith(".json")
            and method == "GET"
        ):
            reply = owner._fetch(account, parts[4].removesuffix(".json"), path)
        else:
            reply = _error(404, 20404, f"The requested resource {path} was not found")

        if fault is not None and fault.startswith("slow"):
            _, _, seconds = fault.partition(":")
            reply.delay = float(seconds) if seconds else owner.slow_seconds
        return reply

    def _write(self, reply: _Reply) -> None:
        data = json.dumps(reply.payload).encode()
        try:
            self.send_response(reply.status or 500)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            # The client gave up (it timed out on a slow reply); nothing to do.
            self.close_connection = True


def _without_secrets(form: dict[str, str]) -> dict[str, str]:
    hidden = ("token", "secret", "password")
    return {k: v for k, v in form.items() if not any(h in k.lower() for h in hidden)}


def main(argv: list[str] | None = None) -> None:
    """Serve a FakeTwilio on 127.0.0.1 until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.fake_twilio",
        description="Twilio-compatible Messages API on 127.0.0.1 for tests.",
    )
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--auth-token", default=DEFAULT_AUTH_TOKEN)
    parser.add_argument(
        "--api-key",
        action="append",
        default=[],
        metavar="SID:SECRET",
        help="also accept this API key pair (repeatable)",
    )
    parser.add_argument(
        "--fault-rate",
        action="append",
        default=[],
        metavar="KIND=P",
        help=f"inject a fault into share P of sends; kinds: {FAULT_KINDS}",
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--slow-seconds", type=float, default=30.0)
    args = parser.parse_args(argv)

    fake = FakeTwilio(
        args.account_sid,
        args.auth_token,
        port=args.port,
        slow_seconds=args.slow_seconds,
    )
    for pair in args.api_key:
        key_sid, _, secret = pair.partition(":")
        fake.add_api_key(key_sid, secret)
    for spec in args.fault_rate:
        kind, _, probability = spec.partition("=")
        fake.set_fault_rate(kind, float(probability), args.seed)

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    with fake:
        print(fake.base_url, flush=True)
        stop.wait()
        print(f"accepted {len(fake.messages)} messages", flush=True)


if __name__ == "__main__":
    main()
