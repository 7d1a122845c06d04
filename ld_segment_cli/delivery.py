"""Delivery to LaunchDarkly's bulk events endpoint: endpoint rules, batches and their payload IDs, the async
sender (keep-alive, bounded concurrency, rate limit, retries, 413 split, 400 bisect) and the in-order run.

Threads: the caller's thread reads, maps and batches (SendRun); one background thread runs the asyncio loop
that owns every HTTP request (Sender). Batches go one way through a bounded window, results come back through
a queue; only the caller's thread writes the rejects file and the checkpoint."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import math
import operator
import os
import queue
import random
import re
import threading
import time
import uuid
import zlib
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from itertools import accumulate, pairwise
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import httpx

from . import __version__
from .actions import DEFAULT_EVENTS_HOST, validate_settings
from .checkpoint import Checkpoint, CheckpointFile, Identity
from .errors import UserError
from .send_defaults import (  # re-exported; declared apart from httpx for the command line
    DEFAULT_BATCH_BYTES,
    DEFAULT_BATCH_SIZE,
    DEFAULT_CONCURRENCY,
    DEFAULT_GZIP_LEVEL,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_RETRY_BASE,
    DEFAULT_RETRY_CAP,
    DEFAULT_TIMEOUT,
)
from .sources import DEFAULT_MAX_LINE_BYTES, Block, ProgressCounter, ReadFailure, Source, read_blocks

if TYPE_CHECKING:  # pipeline needs the mappings machinery; delivery itself does not
    from .pipeline import Engine, Outcome, RejectsWriter, Summary

MAX_RETRY_AFTER = 300.0  # a Retry-After beyond this is clipped so one answer cannot park the run for hours
HELD_REJECT_BYTES = 1 << 20  # a batch holding this many bytes of rejected lines is closed (constant memory)
GOALS_URL = "https://clientsdk.launchdarkly.com/sdk/goals/"
USER_AGENT = f"ld-segment/{__version__}"
EVENT_SCHEMA = "4"
FATAL_STATUSES = frozenset({401, 403, 404})
RETRY_STATUSES = frozenset({408, 429})

Position = tuple[int, int]
"""(source index, line number): every input line up to and including this one. (i, 0) = sources before i."""


class RefusedError(UserError):
    """LaunchDarkly refused the credentials or the environment (401/403/404): nothing more is sent."""

    exit_code = 3


# ---------------------------------------------------------------------------------------------------------
# Endpoint: client-side ID, host, URL


_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
_KEY_PREFIXES = {"sdk-": "a server-side SDK key", "mob-": "a mobile key", "api-": "an API access token"}


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: the only hosts that may be reached over plain http://."""
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def client_id_problem(client_id: str) -> str | None:
    """Why this cannot be a client-side ID, in one sentence, or None.

    Real IDs are 24 hex digits; other shapes are allowed (local sinks, future formats) but not what would
    change the URL's meaning or is clearly another kind of LaunchDarkly key."""
    if not client_id:
        return "the client-side ID is empty"
    for prefix, what in _KEY_PREFIXES.items():
        if client_id.startswith(prefix):
            return (f"'{client_id[:8]}…' is {what}, not a client-side ID: use the environment's "
                    "client-side ID (24 hex digits, Account settings → Projects → Environments)")
    bad = sorted({c for c in client_id if c in "/?#%\\" or c.isspace() or not c.isprintable()})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        return f"the client-side ID contains {shown}, which cannot appear in the events URL path"
    return None


def looks_like_client_id(client_id: str) -> bool:
    return len(client_id) == 24 and all(c in "0123456789abcdef" for c in client_id.lower())


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where batches go: the full POST URL, and whether this is LaunchDarkly's default host (LD3 applies)."""

    url: str
    host: str
    default_host: bool


def resolve_endpoint(client_id: str | None, events_host: str | None = None,
                     events_url: str | None = None) -> Endpoint:
    """Validate the client-side ID and host (LD2) and build the URL (LD4). Raises UserError (exit 2)."""
    if client_id is None:
        raise UserError("no client-side ID: give --client-id, set LD_CLIENT_SIDE_ID, "
                        "or set settings.client_side_id in the mappings file")
    problem = client_id_problem(client_id)
    if problem is not None:
        raise UserError(problem)
    path = "/events/bulk/" + quote(client_id, safe="")
    if events_url is not None:
        if events_host is not None:
            raise UserError("--events-url and --events-host both set: give one "
                            "(--events-url includes the host)")
        parts = urlsplit(events_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UserError(f"--events-url {events_url}: expected http(s)://HOST[:PORT][/PREFIX]")
        if parts.query or parts.fragment:
            raise UserError(f"--events-url {events_url}: no query or fragment, please (the path is added)")
        try:
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise UserError(f"--events-url {events_url}: the port is not a number from 0 to 65535") from None
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise UserError(f"--events-url {events_url}: plain http:// is accepted only for loopback "
                            "addresses (127.0.0.1, ::1, localhost); use https://")
        base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        return Endpoint(base + path, parts.hostname, False)
    host = DEFAULT_EVENTS_HOST if events_host is None else events_host
    messages = validate_settings({"client_id": client_id, "events_host_name": host})
    if messages or not host:
        raise UserError(f"--events-host {host!r}: " + (" ".join(messages) or
                        "LaunchDarkly events host name must be a valid hostname string but it was not."))
    return Endpoint(f"https://{host}{path}", host, host == DEFAULT_EVENTS_HOST)


@dataclass(frozen=True, slots=True)
class CheckResult:
    ok: bool
    status: int
    url: str


def check_client_id(client_id: str, goals_url: str = GOALS_URL, timeout: float = 10.0) -> CheckResult:
    """LD3, Segment's "test authentication": HEAD {goals}/{client id}; 2xx means valid, anything else not.

    Raises UserError (exit 2) when LaunchDarkly cannot be reached, so offline is not mistaken for invalid."""
    url = goals_url.rstrip("/") + "/" + quote(client_id, safe="")
    try:
        with httpx.Client(timeout=timeout, headers={"User-Agent": USER_AGENT}) as client:
            response = client.head(url)
    except httpx.HTTPError as exc:
        host = urlsplit(url).netloc
        raise UserError(f"cannot reach {host} to verify the client-side ID ({describe_error(exc)}): "
                        "check the network or proxy (HTTPS_PROXY), or run without --check") from None
    return CheckResult(200 <= response.status_code < 300, response.status_code, url)


def describe_error(exc: BaseException) -> str:
    """A short, stable description of a transport failure (httpx messages can be empty)."""
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    text = str(exc).strip() or type(exc).__name__
    return f"connection error: {text}" if isinstance(exc, httpx.TransportError) else text


def status_text(status: int) -> str:
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


# ---------------------------------------------------------------------------------------------------------
# Batches and payload IDs


def payload_id(digest: str, first: str, last: str, count: int) -> str:
    """A UUID that depends only on the mappings and the input positions of the payload's first and last event,
    so a retry, a split half re-sent by a resumed run, and the resumed run's batches carry the same ID."""
    h = hashlib.sha256(f"ld-segment payload\0{digest}\0{first}\0{last}\0{count}".encode()).digest()
    return str(uuid.UUID(bytes=h[:16], version=5))


@dataclass(slots=True, eq=False)
class Batch:
    """Events that go out together, and every input line they span (including lines that built no event).

    The events are kept joined (`data`, JSON.stringify bytes separated by commas, with `starts` offsets): one
    buffer per batch instead of one object per event, which matters because each orjson result keeps a 4 KiB
    buffer. `lines[i]` is the input line of event i and `parts` says which source each run of events came
    from; `raws[i]` is its input line (for the rejects file). `held` are the outcomes with parse/map rejects
    in the span (with their source index), written once the batch is settled, in input order."""

    seq: int
    data: bytes = b""
    starts: list[int] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    raws: list[bytes] = field(default_factory=list)
    parts: list[tuple[int, int]] = field(default_factory=list)  # (first event index, source index)
    held: list[tuple[int, Outcome]] = field(default_factory=list)
    end: Position = (0, 0)
    size: int = 0  # bytes of the events plus one separator each: the body is size + 1 bytes
    held_bytes: int = 0
    chunks: list[bytes] = field(default_factory=list)  # while open; joined into `data` when closed

    def __len__(self) -> int:
        return len(self.lines)

    def source(self, index: int) -> int:
        for first, source in reversed(self.parts):
            if first <= index:
                return source
        raise IndexError(index)

    def origin(self, index: int) -> Position:
        return self.source(index), self.lines[index]

    @property
    def origins(self) -> list[Position]:
        return [self.origin(i) for i in range(len(self.lines))]

    def _stop(self, index: int) -> int:
        return self.starts[index] - 1 if index < len(self.starts) else len(self.data)

    def event(self, index: int) -> bytes:
        return self.data[self.starts[index]:self._stop(index + 1)]

    def body(self, lo: int = 0, hi: int | None = None) -> bytes:
        """The JSON array exactly as sent: the events' JSON.stringify bytes joined, as dry-run prints them."""
        n = len(self.lines)
        hi = n if hi is None else hi
        if lo == 0 and hi == n:
            return b"[" + self.data + b"]"
        return b"[" + self.data[self.starts[lo]:self._stop(hi)] + b"]"

    def position(self, index: int, names: Sequence[str]) -> str:
        """'source:line:k' of event `index`, k counting the events that line built before it."""
        origin = self.origin(index)
        k = 0
        while index - k > 0 and self.origin(index - k - 1) == origin:
            k += 1
        return f"{names[origin[0]]}:{origin[1]}:{k}"

    def part_id(self, lo: int, hi: int, digest: str, names: Sequence[str]) -> str:
        return payload_id(digest, self.position(lo, names), self.position(hi - 1, names), hi - lo)

    def distinct_lines(self) -> int:
        """How many input lines built this batch's events (a line's events are adjacent)."""
        total = 0
        bounds = [first for first, _ in self.parts] + [len(self.lines)]
        for a, b in pairwise(bounds):
            seg = self.lines[a:b]
            total += len(seg) - sum(map(operator.eq, seg, seg[1:]))
        return total


class Batcher:
    """Cuts the mapped stream into batches, only at line boundaries and only by rules that depend on the input
    from the batch's start (events, bytes, held rejects), so a resumed run rebuilds the same batches.

    Greedy: a batch takes lines while their events fit in max_events and max_bytes; an empty batch takes
    one line whatever its size. Runs of events are sliced and joined in bulk (this is on the hot path)."""

    def __init__(self, max_events: int = DEFAULT_BATCH_SIZE, max_bytes: int = DEFAULT_BATCH_BYTES,
                 max_held_bytes: int = HELD_REJECT_BYTES) -> None:
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.max_held_bytes = max_held_bytes
        self._seq = 0
        self._open = Batch(0)

    def _close(self, end: Position, closed: list[Batch]) -> None:
        batch = self._open
        batch.end = end
        batch.data = b",".join(batch.chunks)
        batch.chunks = []
        closed.append(batch)
        self._seq += 1
        self._open = Batch(self._seq)

    def add_block(self, source: int, block: Block, events: list[bytes], origins: list[int],
                  rejected: list[Outcome]) -> list[Batch]:
        """Add one mapped block: `events[i]` was built from line `origins[i]` (ascending); `rejected` are
        the lines with a parse or map reject, in line order. Returns the batches this closed."""
        closed: list[Batch] = []
        n = len(events)
        pre = [0, *accumulate(map(len, events))]  # pre[k]: bytes of events[:k]
        i = r = 0
        nr = len(rejected)
        while i < n or r < nr:
            if r < nr and (i >= n or rejected[r].line < origins[i]):
                self._hold(source, rejected[r], closed)
                r += 1
                continue
            # events up to the next rejected line, so that the held-rejects rule is applied in line order
            limit = n if r >= nr else bisect_right(origins, rejected[r].line, i)
            batch = self._open
            j = min(limit, i + max(0, self.max_events - len(batch)))
            budget = self.max_bytes - batch.size
            if j > i and pre[j] - pre[i] + (j - i) > budget:
                lo, hi = i, j  # the largest m with pre[m] - pre[i] + (m - i) <= budget lies in [lo, hi)
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    if pre[mid] - pre[i] + (mid - i) <= budget:
                        lo = mid
                    else:
                        hi = mid
                j = lo
            if i < j < n and origins[j] == origins[j - 1]:  # never split a line's events
                line = origins[j]
                while j > i and origins[j - 1] == line:
                    j -= 1
            if j == i:
                if len(batch):  # the next line does not fit: the batch ends just before it
                    self._close((source, origins[i] - 1), closed)
                    continue
                j = i + 1  # an empty batch takes one whole line, whatever its size
                while j < n and origins[j] == origins[i]:
                    j += 1
            self._take(source, block, events, origins, pre, i, j)
            last = origins[j - 1]
            while r < nr and rejected[r].line == last:  # a line that built events and had a map reject too
                batch.held.append((source, rejected[r]))
                batch.held_bytes += len(rejected[r].raw)
                r += 1
            i = j
        return closed

    def _take(self, source: int, block: Block, events: list[bytes], origins: list[int], pre: list[int],
              i: int, j: int) -> None:
        batch = self._open
        if not batch.parts or batch.parts[-1][1] != source:
            batch.parts.append((len(batch.lines), source))
        offset = batch.size - pre[i] - i  # where events[i] starts in the joined data, shifted for the sums
        batch.starts.extend([offset + pre[k] + k for k in range(i, j)])
        batch.chunks.append(b",".join(events[i:j]))
        taken = origins[i:j]
        batch.lines.extend(taken)
        start = block.start
        lines = block.lines
        batch.raws.extend([lines[o - start] for o in taken])
        batch.size += pre[j] - pre[i] + (j - i)

    def add_rejected(self, source: int, outcome: Outcome) -> list[Batch]:
        """A line (or unreadable stretch) that built nothing and was rejected outside a block."""
        closed: list[Batch] = []
        self._hold(source, outcome, closed)
        return closed

    def _hold(self, source: int, outcome: Outcome, closed: list[Batch]) -> None:
        if self._open.held_bytes >= self.max_held_bytes:
            self._close((source, outcome.line - 1), closed)
        self._open.held.append((source, outcome))
        self._open.held_bytes += len(outcome.raw) + 200

    def finish(self, end: Position) -> Batch | None:
        """Close the open batch at `end` (the last line read); None if it spans nothing worth recording."""
        batch = self._open
        if not len(batch) and not batch.held and end <= batch.end:
            return None
        closed: list[Batch] = []
        self._close(end, closed)
        return closed[0]


# ---------------------------------------------------------------------------------------------------------
# The sender: asyncio in a background thread


@dataclass(frozen=True, slots=True)
class DeliveryOptions:
    url: str
    digest: str = ""
    concurrency: int = DEFAULT_CONCURRENCY
    rate: float | None = None  # events per second, None for no limit
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    gzip: bool = True
    gzip_level: int = DEFAULT_GZIP_LEVEL
    retry_base: float = DEFAULT_RETRY_BASE
    retry_cap: float = DEFAULT_RETRY_CAP
    timeout: float = DEFAULT_TIMEOUT
    max_retry_after: float = MAX_RETRY_AFTER


PENDING, ACKED, FAILED = 0, 1, 2


@dataclass(slots=True)
class BatchResult:
    """What became of each event of a batch: acknowledged, refused (with the reason) or still pending (not
    sent because the run stopped)."""

    seq: int
    state: bytearray
    reasons: dict[int, str] = field(default_factory=dict)

    @property
    def settled(self) -> bool:
        return PENDING not in self.state


@dataclass(slots=True)
class SenderStats:
    requests: int = 0
    retries: int = 0
    splits: int = 0  # 413 halvings
    bisections: int = 0  # 400 halvings
    body_bytes: int = 0  # uncompressed JSON acknowledged
    wire_bytes: int = 0  # bytes put on the wire (compressed when gzip), every attempt
    events_acked: int = 0
    last_error: str = ""


@dataclass(frozen=True, slots=True)
class Fatal:
    status: int
    message: str


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds (fractions tolerated) or an HTTP date; None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return max(0.0, seconds)


class _Stop(Exception):
    """The run is stopping: leave the rest of this batch pending."""


class Sender:
    """Delivers batches with bounded concurrency over one keep-alive httpx.AsyncClient, in its own thread.

    submit() is thread-safe and does not block: the caller bounds how many batches are outstanding. Each
    batch yields exactly one BatchResult on `results`, whatever happens (stop, fatal answer, cancellation)."""

    def __init__(self, options: DeliveryOptions, names: Sequence[str],
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.options = options
        self.names = list(names)
        self.results: queue.Queue[BatchResult] = queue.Queue()
        self.stats = SenderStats()
        self.fatal: Fatal | None = None
        self._transport = transport
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping: asyncio.Event | None = None
        self._closing: asyncio.Event | None = None
        self._pause_until = 0.0
        self._next_slot = 0.0
        self._random = random.Random()
        self._startup_error: BaseException | None = None

    # -- caller's thread ------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ld-segment-sender", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            raise self._startup_error

    def submit(self, batch: Batch) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._spawn, batch)

    def stop(self) -> None:
        """No new attempts: requests on the wire finish, the rest stays pending (the run records it)."""
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)

    def abort(self) -> None:
        """Stop now: cancel requests on the wire too."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._cancel_all)

    def close(self, timeout: float | None = None) -> None:
        if self._loop is not None and self._closing is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._closing.set)
            self._thread.join(timeout)

    @property
    def stopping(self) -> bool:
        return self._stopping is not None and self._stopping.is_set()

    # -- loop thread ----------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # pragma: no cover - only if the loop itself cannot start
            self._startup_error = exc
            self._ready.set()

    async def _main(self) -> None:
        o = self.options
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._closing = asyncio.Event()
        self._sem = asyncio.Semaphore(o.concurrency)
        limits = httpx.Limits(max_connections=o.concurrency, max_keepalive_connections=o.concurrency,
                              keepalive_expiry=30.0)
        timeout = httpx.Timeout(o.timeout, connect=min(o.timeout, 10.0), pool=None)
        async with httpx.AsyncClient(limits=limits, timeout=timeout, transport=self._transport,
                                     headers={"User-Agent": USER_AGENT}) as client:
            self._client = client
            self._ready.set()
            await self._closing.wait()
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, batch: Batch) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _cancel_all(self) -> None:
        assert self._stopping is not None
        self._stopping.set()
        for task in list(self._tasks):
            task.cancel()

    async def _deliver(self, batch: Batch) -> None:
        result = BatchResult(batch.seq, bytearray(len(batch)))
        try:
            await self._send_part(batch, 0, len(batch), result)
        except (_Stop, asyncio.CancelledError):
            pass
        except Exception as exc:  # never lose a batch to a bug: record its events as refused, with why
            for i in range(len(batch)):
                if result.state[i] == PENDING:
                    result.state[i] = FAILED
                    result.reasons[i] = f"internal error while sending: {type(exc).__name__}: {exc}"
        finally:
            self.results.put(result)

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake up (raising _Stop) as soon as the run stops."""
        assert self._stopping is not None
        if seconds > 0:
            try:
                await asyncio.wait_for(self._stopping.wait(), seconds)
            except TimeoutError:
                return
        if self._stopping.is_set():
            raise _Stop

    async def _wait_turn(self, events: int) -> None:
        """The global pause after a 429 and the --rate budget (events per second, scheduled, not bursty)."""
        loop = asyncio.get_running_loop()
        await self._sleep(self._pause_until - loop.time())
        rate = self.options.rate
        if rate:
            now = loop.time()
            start = max(now, self._next_slot)
            self._next_slot = start + events / rate
            await self._sleep(start - now)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        o = self.options
        delay = self._random.uniform(0, min(o.retry_cap, o.retry_base * 2 ** (attempt - 1)))
        if retry_after is not None:
            delay = max(delay, min(retry_after, o.max_retry_after))
        return delay

    def _compress(self, body: bytes) -> bytes:
        return zlib.compress(body, self.options.gzip_level, wbits=31)

    async def _send_part(self, batch: Batch, lo: int, hi: int, result: BatchResult) -> None:
        o = self.options
        body = batch.body(lo, hi)
        wire = body
        if o.gzip:
            wire = await asyncio.get_running_loop().run_in_executor(None, self._compress, body)
        headers = {
            "Content-Type": "application/json",
            "X-LaunchDarkly-Event-Schema": EVENT_SCHEMA,
            "X-LaunchDarkly-Payload-ID": batch.part_id(lo, hi, o.digest, self.names),
        }
        if o.gzip:
            headers["Content-Encoding"] = "gzip"
        attempt = 0
        refused_400 = False
        stats = self.stats
        while True:
            assert self._stopping is not None
            if self._stopping.is_set():
                raise _Stop
            await self._wait_turn(hi - lo)
            attempt += 1
            stats.requests += 1
            if attempt > 1:
                stats.retries += 1
            stats.wire_bytes += len(wire)
            status: int | None = None
            retry_after: float | None = None
            detail = ""
            try:
                async with self._sem:
                    # a 429 may have arrived while this request waited for a connection
                    await self._sleep(self._pause_until - asyncio.get_running_loop().time())
                    response = await self._client.post(o.url, content=wire, headers=headers)
                status = response.status_code
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                detail = status_text(status)
                if status == 400:
                    text = response.text.strip().replace("\n", " ")
                    if text:
                        detail += f": {text[:200]}"
            except httpx.HTTPError as exc:
                detail = describe_error(exc)
            if status is not None and 200 <= status < 300:
                for i in range(lo, hi):
                    result.state[i] = ACKED
                stats.events_acked += hi - lo
                stats.body_bytes += len(body)
                return
            stats.last_error = detail
            if status in FATAL_STATUSES:
                if self.fatal is None:
                    self.fatal = Fatal(status, detail)
                self._stopping.set()
                raise _Stop
            if status == 413:
                if hi - lo > 1:
                    stats.splits += 1
                    await self._halves(batch, lo, hi, result)
                else:
                    self._refuse(result, lo, hi, f"LaunchDarkly refused this event as too large ({detail}), "
                                 "even sent alone")
                return
            if status == 400:
                if refused_400 and hi - lo > 1:
                    stats.bisections += 1
                    await self._halves(batch, lo, hi, result)
                    return
                if refused_400:
                    self._refuse(result, lo, hi, f"LaunchDarkly refused this event ({detail})")
                    return
                refused_400 = True  # retried once, as the SDKs do, before isolating the refused events
            elif status is not None and status not in RETRY_STATUSES and status < 500:
                self._refuse(result, lo, hi, f"LaunchDarkly refused the payload ({detail}); not retried")
                return
            if attempt >= o.max_attempts:
                self._refuse(result, lo, hi, f"not delivered after {attempt} attempts; last answer: {detail}")
                return
            delay = self._backoff(attempt, retry_after)
            if status == 429 and retry_after is not None:
                loop = asyncio.get_running_loop()
                self._pause_until = max(self._pause_until, loop.time() + min(retry_after, o.max_retry_after))
            await self._sleep(delay)

    async def _halves(self, batch: Batch, lo: int, hi: int, result: BatchResult) -> None:
        mid = (lo + hi) // 2
        await self._send_part(batch, lo, mid, result)
        await self._send_part(batch, mid, hi, result)

    @staticmethod
    def _refuse(result: BatchResult, lo: int, hi: int, reason: str) -> None:
        for i in range(lo, hi):
            result.state[i] = FAILED
            result.reasons[i] = reason


# ---------------------------------------------------------------------------------------------------------
# The run: read → map → batch → send; settle in input order; write rejects and checkpoints


@dataclass(slots=True)
class SendOptions:
    batch_size: int = DEFAULT_BATCH_SIZE
    batch_bytes: int = DEFAULT_BATCH_BYTES
    window: int = 0  # batches outstanding at once (constant memory); 0 means 2 × concurrency + 1
    checkpoint_interval: float = 1.0  # seconds between checkpoint writes (and one at the end, always)
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES


@dataclass(slots=True)
class SendTotals:
    """Delivery's share of the accounting; the Summary holds the rest (read, filtered, parse, map)."""

    batches: int = 0
    events_sent: int = 0
    events_failed: int = 0
    events_unsent: int = 0
    lines_sent: int = 0
    lines_failed: int = 0  # at least one of the line's events was refused or ran out of attempts
    lines_unsent: int = 0  # not acknowledged because the run stopped (interrupt, 401/403/404)
    lines_skipped: int = 0  # lines before the checkpoint, read past and not mapped again
    failed_by_reason: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot for the progress bar."""

    lines: int
    events_sent: int
    rejected: int
    bytes_done: int
    bytes_total: int | None
    elapsed: float


UNSENT_INTERRUPTED = "not sent: the run was interrupted before this event was acknowledged"


class SendRun:
    """One `send`. Batches settle out of order; they are committed (rejects written, checkpoint advanced)
    strictly in input order, so the checkpoint and the rejects file always describe the same prefix of the
    input, and a resumed run can truncate the rejects file back to it and carry on."""

    def __init__(self, engine: Engine, sources: Sequence[Source], sender: Sender, summary: Summary,
                 rejects: RejectsWriter, options: SendOptions | None = None, *,
                 rejects_stream: IO[bytes] | None = None, checkpoint: CheckpointFile | None = None,
                 identity: Identity | None = None, resume: Checkpoint | None = None,
                 progress_counter: ProgressCounter | None = None,
                 on_progress: Callable[[Progress], None] | None = None) -> None:
        self.engine = engine
        self.sources = list(sources)
        self.names = [s.name for s in self.sources]
        self.sender = sender
        self.summary = summary
        self.rejects = rejects
        self.rejects_stream = rejects_stream
        self.options = options or SendOptions()
        self.checkpoint = checkpoint
        self.identity = identity
        self.counter = progress_counter
        self.on_progress = on_progress
        self.totals = SendTotals()
        self.watermark: Position = (resume.source_index, resume.line) if resume else (0, 0)
        self.start_position = self.watermark
        self.previous_sent = resume.events_sent if resume else 0
        self.stop_requested = False
        self.abort_requested = False
        self.completed = False  # every line was read and every batch settled
        self.started = time.monotonic()
        self.elapsed = 0.0
        self._batcher = Batcher(self.options.batch_size, self.options.batch_bytes)
        self._ledger: deque[tuple[Batch, BatchResult | None]] = deque()
        self._outstanding = 0
        self._pos: Position = self.watermark
        self._last_save = time.monotonic()
        self._last_progress = 0.0
        self._dirty = False
        sizes = [s.size for s in self.sources]
        self._bytes_total = None if any(size is None for size in sizes) else sum(s or 0 for s in sizes)
        self._window = self.options.window or 2 * sender.options.concurrency + 1

    # -- stopping: signal handlers call these, and they only set flags --

    def request_stop(self) -> None:
        """Stop reading; requests on the wire finish, what is not acknowledged is recorded as not sent."""
        self.stop_requested = True
        self.sender.stop()

    def request_abort(self) -> None:
        """Stop now, cancelling requests on the wire as well."""
        self.stop_requested = self.abort_requested = True
        self.sender.abort()

    @property
    def stopping(self) -> bool:
        return self.stop_requested or self.sender.fatal is not None

    # -- the loop --

    def run(self) -> None:
        engine = self.engine
        batcher = self._batcher
        summary = self.summary
        self.sender.start()
        try:
            finished_reading = True
            for index, item in self._items():
                if isinstance(item, Block):
                    out: list[bytes] = []
                    origins: list[int] = []
                    rejected: list[Outcome] = []
                    engine.map_block(item, out, summary, rejected, origins)
                    closed = batcher.add_block(index, item, out, origins, rejected)
                else:
                    outcome = engine.process(item)
                    summary.add(outcome)
                    closed = batcher.add_rejected(index, outcome)
                for batch in closed:
                    self._submit(batch)
                self._collect(wait=False)
                self._tick()
                if self.stopping:
                    finished_reading = False
                    break
            last = batcher.finish(self._pos)
            if last is not None:
                self._submit(last)
            while self._outstanding:
                self._collect(wait=True)
            self.completed = finished_reading and not self.stopping
        finally:
            self.sender.close(timeout=10.0)
            self.elapsed = time.monotonic() - self.started
        self._finish()
        if self.on_progress is not None:
            self.on_progress(self.progress())

    def _items(self) -> Iterator[tuple[int, Block | ReadFailure]]:
        """Blocks of every source from the resume position on; lines up to it are read past, not mapped."""
        start_source, start_line = self.watermark
        if self.counter is not None:
            for skipped in self.sources[:start_source]:
                self.counter.done += skipped.size or 0
        for index in range(start_source, len(self.sources)):
            self._pos = (index, 0)
            for item in read_blocks(self.sources[index], self.counter, self.options.max_line_bytes):
                if isinstance(item, Block):
                    last = item.start + len(item.lines) - 1
                    if index == start_source and item.start <= start_line:
                        cut = min(start_line + 1 - item.start, len(item.lines))
                        self.totals.lines_skipped += _non_blank(item.lines[:cut])
                        if last <= start_line:
                            continue
                        item = Block(item.source, start_line + 1, item.lines[cut:])
                    self._pos = (index, last)
                else:
                    if index == start_source and item.number <= start_line:
                        continue
                    self._pos = (index, max(item.number, self._pos[1]))
                yield index, item

    def _submit(self, batch: Batch) -> None:
        """Hand a closed batch to the sender (waiting for room in the window); or record it as not sent."""
        self.totals.batches += 1
        if not len(batch):  # spans only filtered or rejected lines: settled as it is
            self._ledger.append((batch, BatchResult(batch.seq, bytearray())))
            self._advance()
            return
        # The ledger holds every batch not committed yet (sent or waiting for an earlier one): bounding it,
        # not only the requests in flight, keeps memory constant while a slow batch holds the head.
        while (self._outstanding >= self._window or len(self._ledger) >= 2 * self._window) \
                and self._outstanding and not self.stopping:
            self._collect(wait=True)
        self._ledger.append((batch, None))
        if self.stopping:
            return
        self._outstanding += 1
        self.sender.submit(batch)

    def _collect(self, wait: bool) -> None:
        """Take the results that are in; with wait, block until at least one (in short slices, so signal
        handlers run and the progress bar moves)."""
        got = False
        results = self.sender.results
        while True:
            try:
                result = results.get(block=wait and not got, timeout=0.05) if wait and not got \
                    else results.get_nowait()
            except queue.Empty:
                if wait and not got and self._outstanding:
                    self._tick()
                    continue
                break
            got = True
            self._outstanding -= 1
            head = self._ledger[0][0].seq
            batch, _ = self._ledger[result.seq - head]
            self._ledger[result.seq - head] = (batch, result)
        if got:
            self._advance()

    def _advance(self) -> None:
        """Commit the settled batches at the head of the ledger, in input order."""
        ledger = self._ledger
        while ledger:
            batch, result = ledger[0]
            if result is None or not result.settled:
                return
            ledger.popleft()
            self._commit(batch, result)
            self.watermark = batch.end
            self._dirty = True

    def _commit(self, batch: Batch, result: BatchResult, unsent_reason: str | None = None) -> None:
        """Count the batch's lines and write its rejects (parse/map ones held so far, then delivery ones), in
        line order. Unsent events are written only with `unsent_reason` (runs without a checkpoint)."""
        from .pipeline import DELIVER, Reject

        totals = self.totals
        records: list[tuple[Position, int, Any]] = [((s, o.line), 0, o) for s, o in batch.held]
        state = result.state
        n = len(batch)
        if n and len(state) == n and state.count(ACKED) == n:  # the usual case, without a per-event loop
            totals.events_sent += n
            totals.lines_sent += batch.distinct_lines()
            n = 0
        unsent = len(state) < n
        i = 0
        while i < n:
            origin = batch.origin(i)
            j = i
            line_state = ACKED
            while j < n and batch.origin(j) == origin:
                s = PENDING if unsent else state[j]
                if s == ACKED:
                    totals.events_sent += 1
                elif s == FAILED:
                    line_state = FAILED
                    totals.events_failed += 1
                    reason = result.reasons[j]
                    key = _reason_key(reason)
                    totals.failed_by_reason[key] = totals.failed_by_reason.get(key, 0) + 1
                    records.append((origin, 1, (batch.raws[j], Reject(DELIVER, None, reason))))
                else:
                    if line_state == ACKED:
                        line_state = PENDING
                    totals.events_unsent += 1
                    if unsent_reason is not None:
                        records.append((origin, 1, (batch.raws[j], Reject(DELIVER, None, unsent_reason))))
                j += 1
            if line_state == ACKED:
                totals.lines_sent += 1
            elif line_state == FAILED:
                totals.lines_failed += 1
            else:
                totals.lines_unsent += 1
            i = j
        if len(records) > 1:
            records.sort(key=lambda r: (r[0], r[1]))
        names = self.names
        for (source, line), kind, item in records:
            if kind == 0:
                self.rejects.write_outcome(item)
            else:
                raw, reject = item
                self.rejects.write(names[source], line, raw, reject)

    def _tick(self) -> None:
        now = time.monotonic()
        if self._dirty and now - self._last_save >= self.options.checkpoint_interval:
            self.save_checkpoint()
        if self.on_progress is not None and now - self._last_progress >= 0.1:
            self._last_progress = now
            self.on_progress(self.progress())

    def progress(self) -> Progress:
        s = self.summary
        return Progress(s.lines, self.sender.stats.events_acked, s.rejected_lines + self.totals.lines_failed,
                        self.counter.consumed if self.counter is not None else 0, self._bytes_total,
                        time.monotonic() - self.started)

    def _finish(self) -> None:
        """After the loop: commit what settled in order; record the rest (batches not acknowledged in full)
        beyond the checkpoint's share of the rejects file; save the checkpoint one last time."""
        self._advance()
        committed = self.rejects_offset()
        unsent_reason = None if self.checkpoint is not None else self.unsent_reason()
        leftover = bool(self._ledger)
        while self._ledger:
            batch, result = self._ledger.popleft()
            if result is None:
                result = BatchResult(batch.seq, bytearray())
            self._commit(batch, result, unsent_reason)
        self.rejects.close()
        if leftover:
            self.completed = False
        if self.checkpoint is not None:
            self.save_checkpoint(offset=committed)

    def unsent_reason(self) -> str:
        fatal = self.sender.fatal
        if fatal is not None:
            return f"not sent: LaunchDarkly refused the client-side ID or events host ({fatal.message})"
        return UNSENT_INTERRUPTED

    def rejects_offset(self) -> int:
        stream = self.rejects_stream
        if stream is None:
            return 0
        stream.flush()
        return stream.tell()

    def save_checkpoint(self, offset: int | None = None) -> None:
        if self.checkpoint is None or self.identity is None:
            return
        if offset is None:
            offset = self.rejects_offset()
        if self.rejects_stream is not None:  # the rejects the checkpoint vouches for must be on disk first
            self.rejects_stream.flush()
            with contextlib.suppress(OSError, ValueError, AttributeError):
                os.fsync(self.rejects_stream.fileno())
        self.checkpoint.save(Checkpoint(
            identity=self.identity,
            source_index=self.watermark[0],
            line=self.watermark[1],
            complete=self.completed,
            rejects_path=self.checkpoint.rejects_path,
            rejects_offset=offset,
            events_sent=self.previous_sent + self.totals.events_sent,
        ))
        self._last_save = time.monotonic()
        self._dirty = False


_STATUS_IN_REASON = re.compile(r"(.*?\(HTTP \d{3}[A-Za-z ]*)")


def _reason_key(reason: str) -> str:
    """A reason without its variable detail (answer bodies), to count events by why they failed."""
    head = reason.split(";")[0]
    m = _STATUS_IN_REASON.match(head)
    return m.group(1).rstrip() + ")" if m else head


def _non_blank(lines: list[bytes]) -> int:
    return sum(1 for ln in lines if ln and not ln.isspace())
