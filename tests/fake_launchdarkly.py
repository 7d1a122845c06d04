"""A fake LaunchDarkly events endpoint for tests: a real HTTP/1.1 server on 127.0.0.1 in a background thread.

It accepts `POST /events/bulk/{client id}` (gzip or not), records every request, keeps accepted payloads
de-duplicated by X-LaunchDarkly-Payload-ID (as the events service does), and injects faults on demand:
statuses (500, 503, 429 with Retry-After, 401, ...), accept-then-fail, dropped connections, slow answers,
413 above a body size, 400 for chosen events. It shuts itself down after `timeout` seconds so a broken test
cannot hang. Also runnable as a process for benchmarks: `python tests/fake_launchdarkly.py` prints its URL,
serves until stdin closes, then prints its counts as JSON."""

from __future__ import annotations

import gzip
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

Event = dict[str, Any]


@dataclass
class Fault:
    """One programmed misbehaviour, used by the next `times` requests whose events satisfy `match`."""

    status: int = 500
    times: int = 1
    retry_after: str | None = None
    accept: bool = False  # record the payload as delivered, then answer `status` anyway
    drop: bool = False  # close the connection without answering (after reading the body)
    delay: float = 0.0  # wait this long before answering
    match: Callable[[list[Event]], bool] | None = None


@dataclass
class Request:
    path: str
    payload_id: str | None
    headers: dict[str, str]
    gzip: bool
    body: bytes  # decompressed
    events: list[Event] | None
    status: int | None  # None when the connection was dropped
    at: float


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[Request] = field(default_factory=list)
    accepted: dict[str, list[Event]] = field(default_factory=dict)  # payload ID → events, first arrival
    bodies: dict[str, bytes] = field(default_factory=dict)
    anonymous: list[list[Event]] = field(default_factory=list)  # accepted payloads without an ID
    duplicates: int = 0  # accepted payloads whose ID had been accepted before
    event_count: int = 0  # de-duplicated events accepted
    active: int = 0  # requests being answered now
    max_active: int = 0
    clients: set[tuple[str, int]] = field(default_factory=set)  # client (host, port): one per connection
    faults: list[Fault] = field(default_factory=list)


class FakeLaunchDarkly:
    def __init__(self, *, timeout: float = 60.0, max_body: int | None = None,
                 refuse: Callable[[Event], bool] | None = None, status: int | None = None,
                 client_id: str | None = None, keep: bool = True) -> None:
        self.timeout = timeout
        self.max_body = max_body  # 413 when the decompressed body is larger
        self.refuse = refuse  # 400 when any event of the payload is refused
        self.status = status  # answer every request with this status (e.g. 401)
        self.client_id = client_id  # when set, other IDs get 404
        self.keep = keep  # keep events and bodies (tests); False only counts (benchmarks)
        self.state = _State()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None

    # -- lifecycle --

    def start(self) -> FakeLaunchDarkly:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        self._timer = threading.Timer(self.timeout, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._timer is not None:
            self._timer.cancel()

    def __enter__(self) -> FakeLaunchDarkly:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- programming faults --

    def inject(self, *faults: Fault) -> None:
        with self.state.lock:
            self.state.faults.extend(faults)

    def _take_fault(self, events: list[Event] | None) -> Fault | None:
        with self.state.lock:
            for fault in self.state.faults:
                if fault.times > 0 and (fault.match is None or (events is not None and fault.match(events))):
                    fault.times -= 1
                    return fault
        return None

    # -- what was received --

    def events(self) -> list[Event]:
        """Accepted events, each payload counted once (by payload ID), in order of first arrival."""
        with self.state.lock:
            out = [e for events in self.state.accepted.values() for e in events]
            out.extend(e for events in self.state.anonymous for e in events)
        return out

    @property
    def event_count(self) -> int:
        return self.state.event_count

    @property
    def requests(self) -> list[Request]:
        with self.state.lock:
            return list(self.state.requests)

    @property
    def duplicates(self) -> int:
        return self.state.duplicates

    @property
    def max_concurrent(self) -> int:
        return self.state.max_active

    @property
    def connections(self) -> int:
        return len(self.state.clients)

    def payload_ids(self) -> list[str]:
        with self.state.lock:
            return list(self.state.accepted)

    def body(self, payload_id: str) -> bytes:
        return self.state.bodies[payload_id]

    def wait_for_events(self, n: int, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.state.event_count >= n:
                return True
            time.sleep(0.01)
        return False

    # -- handling --

    def _record(self, request: Request, events: list[Event] | None, accept: bool) -> None:
        state = self.state
        with state.lock:
            if self.keep:
                state.requests.append(request)
            if not accept:
                return
            events = events or []
            pid = request.payload_id
            if pid is None:
                state.anonymous.append(events if self.keep else [])
                state.event_count += len(events)
            elif pid in state.accepted:
                state.duplicates += 1
            else:
                state.accepted[pid] = events if self.keep else []
                if self.keep:
                    state.bodies[pid] = request.body
                state.event_count += len(events)

    def handle(self, handler: BaseHTTPRequestHandler) -> tuple[int | None, dict[str, str]]:
        """Decide the answer to one request; returns (status or None to drop, extra headers)."""
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        gz = (handler.headers.get("Content-Encoding") or "").lower() == "gzip"
        body = gzip.decompress(raw) if gz else raw
        try:
            parsed = orjson.loads(body)
            events: list[Event] | None = parsed if isinstance(parsed, list) else None
        except orjson.JSONDecodeError:
            events = None
        request = Request(handler.path, handler.headers.get("X-LaunchDarkly-Payload-ID"),
                          {k.lower(): v for k, v in handler.headers.items()}, gz, body if self.keep else b"",
                          events if self.keep else None, None, time.monotonic())
        fault = self._take_fault(events)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            request.status = None if fault.drop else fault.status
            self._record(request, events, accept=fault.accept and events is not None)
            if fault.drop:
                return None, {}
            return fault.status, {"Retry-After": fault.retry_after} if fault.retry_after else {}
        status = self._judge(handler.path, events, len(body))
        request.status = status
        self._record(request, events, accept=status == 202)
        return status, {}

    def _judge(self, path: str, events: list[Event] | None, size: int) -> int:
        if self.status is not None:
            return self.status
        prefix = "/events/bulk/"
        if not path.startswith(prefix):
            return 404
        if self.client_id is not None and path[len(prefix):] != self.client_id:
            return 404
        if events is None:
            return 400
        if self.max_body is not None and size > self.max_body:
            return 413
        if self.refuse is not None and any(self.refuse(e) for e in events):
            return 400
        return 202


def _handler_for(fake: FakeLaunchDarkly) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the events service
        disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

        def do_POST(self) -> None:
            state = fake.state
            with state.lock:
                state.active += 1
                state.max_active = max(state.max_active, state.active)
                state.clients.add(self.client_address[:2])
            try:
                self._answer()
            finally:
                with state.lock:
                    state.active -= 1

        def _answer(self) -> None:
            status, headers = fake.handle(self)
            if status is None:
                self.close_connection = True
                return
            text = HTTPStatus(status).phrase.encode() if status in HTTPStatus._value2member_map_ else b""
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def do_HEAD(self) -> None:  # the LD3 check: HEAD /sdk/goals/{client id}
            ok = fake.client_id is None or self.path.rstrip("/").endswith("/" + fake.client_id)
            self.send_response(200 if ok else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def segment_export(n: int, seed: int = 1, *, bad_every: int = 0, unmappable_every: int = 0) -> bytes:
    """A Segment export of n lines: 70% track, 15% page (no preset fires), 15% identify (alias events).
    Every `bad_every`-th line is not JSON (parse reject); every `unmappable_every`-th is a track without an
    event name (map reject)."""
    rnd = random.Random(seed)
    lines: list[bytes] = []
    for i in range(1, n + 1):
        if bad_every and i % bad_every == 0:
            lines.append(b"this is not json %d" % i)
            continue
        ts = f"2024-01-{1 + i // 86400 % 28:02d}T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z"
        event: dict[str, Any] = {"messageId": f"m-{seed}-{i}", "timestamp": ts, "anonymousId": f"anon-{i}"}
        r = rnd.random()
        if unmappable_every and i % unmappable_every == 0:
            event.update(type="track", userId=f"u{i}", properties={"revenue": 1})
        elif r < 0.70:
            event.update(type="track", event=rnd.choice(["Order Completed", "Product Viewed", "Signed Up"]),
                         userId=f"user-{rnd.randrange(500)}",
                         properties={"revenue": round(rnd.random() * 100, 2), "sku": f"sku-{i}", "n": i})
        elif r < 0.85:
            event.update(type="page", name="Home")
        else:
            event.update(type="identify", userId=f"user-{i}", traits={"plan": "pro"})
        lines.append(orjson.dumps(event))
    return b"\n".join(lines) + b"\n"


def main() -> None:
    """Benchmark mode: count only; print the URL, serve until stdin closes, print the counts."""
    fake = FakeLaunchDarkly(timeout=3600, keep=False).start()
    print(fake.url, flush=True)
    sys.stdin.read()
    fake.stop()
    print(orjson.dumps({"events": fake.event_count, "duplicates": fake.duplicates}).decode(), flush=True)


if __name__ == "__main__":
    main()
