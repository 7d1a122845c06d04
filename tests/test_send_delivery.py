"""Delivery to the bulk events endpoint, against a real HTTP server on 127.0.0.1 (tests/fake_launchdarkly.py):
the wire format, payload IDs, batching rules, retries and every fault the issue lists."""

from __future__ import annotations

import gzip
import time

import orjson
import pytest
from fake_launchdarkly import FakeLaunchDarkly, Fault
from hypothesis import given, settings
from hypothesis import strategies as st

from ld_segment_cli import __version__
from ld_segment_cli.delivery import (
    ACKED,
    FAILED,
    PENDING,
    Batch,
    Batcher,
    BatchResult,
    DeliveryOptions,
    Sender,
    client_id_problem,
    is_loopback,
    payload_id,
    resolve_endpoint,
    retry_after_seconds,
)
from ld_segment_cli.errors import UserError
from ld_segment_cli.sources import Block

CLIENT_ID = "5f0c8d3e2a1b4c0012345678"
DIGEST = "ab" * 32


def ld_event(i: int) -> bytes:
    return orjson.dumps({"kind": "custom", "key": f"e{i}", "contextKeys": {"user": f"u{i}"},
                         "creationDate": 1_700_000_000_000 + i, "data": {"i": i}})


def batches_of(n: int, per_batch: int, source: int = 0) -> list[Batch]:
    """n events, one per input line (line i+1), cut into batches by the real Batcher."""
    events = [ld_event(i) for i in range(n)]
    lines = [b'{"line":%d}' % (i + 1) for i in range(n)]
    batcher = Batcher(max_events=per_batch)
    closed = batcher.add_block(source, Block("in.ndjson", 1, lines), events, list(range(1, n + 1)), [])
    last = batcher.finish((source, n))
    return closed + ([last] if last is not None else [])


def send(fake: FakeLaunchDarkly, batches: list[Batch], **options: object) -> tuple[list[BatchResult], Sender]:
    opts: dict = {"url": fake.url + f"/events/bulk/{CLIENT_ID}", "digest": DIGEST, "retry_base": 0.01,
                  "retry_cap": 0.05, "timeout": 5.0}
    opts.update(options)
    sender = Sender(DeliveryOptions(**opts), ["in.ndjson"])
    sender.start()
    try:
        for batch in batches:
            sender.submit(batch)
        results = [sender.results.get(timeout=20) for _ in batches]
    finally:
        sender.close(timeout=5)
    return sorted(results, key=lambda r: r.seq), sender


def keys(events: list[dict]) -> list[str]:
    return sorted(e["key"] for e in events)


def all_keys(n: int) -> list[str]:
    return sorted(f"e{i}" for i in range(n))


@pytest.fixture
def fake():
    with FakeLaunchDarkly(timeout=60) as server:
        yield server


# -- the wire --------------------------------------------------------------------------------------------

def test_request_carries_launchdarkly_headers_and_gzipped_json_array(fake):
    [batch] = batches_of(3, 10)
    results, _ = send(fake, [batch])
    assert results[0].state == bytearray([ACKED] * 3)
    [request] = fake.requests
    assert request.path == f"/events/bulk/{CLIENT_ID}"
    h = request.headers
    assert h["content-type"] == "application/json"
    assert h["x-launchdarkly-event-schema"] == "4"
    assert h["user-agent"] == f"ld-segment/{__version__}"
    assert h["content-encoding"] == "gzip"
    assert h["x-launchdarkly-payload-id"] == batch.part_id(0, 3, DIGEST, ["in.ndjson"])
    assert request.body == b"[" + b",".join(ld_event(i) for i in range(3)) + b"]"


def test_without_gzip_the_body_is_the_plain_json_array(fake):
    [batch] = batches_of(2, 10)
    send(fake, [batch], gzip=False)
    [request] = fake.requests
    assert "content-encoding" not in request.headers
    assert not request.gzip
    assert request.body == batch.body()


def test_gzip_body_is_valid_gzip_of_the_exact_array():
    [batch] = batches_of(50, 100)
    import zlib

    compressed = zlib.compress(batch.body(), 6, wbits=31)
    assert gzip.decompress(compressed) == batch.body()


def test_connections_are_kept_alive_and_concurrency_is_bounded(fake):
    fake.inject(Fault(status=202, accept=True, delay=0.05, times=40))
    results, _ = send(fake, batches_of(40, 1), concurrency=2)
    assert all(r.settled for r in results)
    assert fake.event_count == 40
    assert fake.max_concurrent <= 2
    assert fake.connections <= 2  # 40 requests over at most two keep-alive connections


# -- payload IDs -----------------------------------------------------------------------------------------

def test_payload_id_is_a_uuid_derived_only_from_mappings_and_positions():
    a = payload_id(DIGEST, "in.ndjson:1:0", "in.ndjson:10:0", 10)
    assert a == payload_id(DIGEST, "in.ndjson:1:0", "in.ndjson:10:0", 10)
    assert len(a) == 36 and a[14] == "5"
    assert a != payload_id("cd" * 32, "in.ndjson:1:0", "in.ndjson:10:0", 10)
    assert a != payload_id(DIGEST, "in.ndjson:2:0", "in.ndjson:10:0", 10)
    assert a != payload_id(DIGEST, "in.ndjson:1:0", "in.ndjson:10:1", 10)


def test_batches_rebuilt_from_a_batch_boundary_get_the_same_payload_ids():
    first = batches_of(100, 7)
    names = ["in.ndjson"]
    ids = [b.part_id(0, len(b), DIGEST, names) for b in first]
    # a resumed run starts right after batch 3 ended: it rebuilds batches 4.. identically
    cut = first[3].end[1]
    events = [ld_event(i) for i in range(cut, 100)]
    lines = [b"{}"] * (100 - cut)
    batcher = Batcher(max_events=7)
    again = batcher.add_block(0, Block("in.ndjson", cut + 1, lines), events, list(range(cut + 1, 101)), [])
    again.append(batcher.finish((0, 100)))
    assert [b.part_id(0, len(b), DIGEST, names) for b in again] == ids[4:]


def test_two_events_of_one_line_have_distinct_positions():
    batcher = Batcher(max_events=10)
    [batch] = [*batcher.add_block(0, Block("f", 1, [b"{}"]), [ld_event(0), ld_event(1)], [1, 1], []),
               batcher.finish((0, 1))]
    assert batch.position(0, ["f"]) == "f:1:0"
    assert batch.position(1, ["f"]) == "f:1:1"
    assert batch.part_id(0, 1, DIGEST, ["f"]) != batch.part_id(1, 2, DIGEST, ["f"])


# -- batching --------------------------------------------------------------------------------------------

def test_batches_are_bounded_by_event_count():
    batches = batches_of(25, 10)
    assert [len(b) for b in batches] == [10, 10, 5]
    assert [b.end for b in batches] == [(0, 10), (0, 20), (0, 25)]
    assert [b.event(i) for b in batches for i in range(len(b))] == [ld_event(i) for i in range(25)]


def test_batches_are_bounded_by_bytes():
    size = len(ld_event(0)) + 1
    batcher = Batcher(max_events=1000, max_bytes=size * 4 + 2)
    events = [ld_event(i) for i in range(10)]  # all the same length
    closed = batcher.add_block(0, Block("f", 1, [b"{}"] * 10), events, list(range(1, 11)), [])
    assert [len(b) for b in closed] == [4, 4]
    assert all(len(b.body()) <= size * 4 + 2 for b in closed)


def test_a_line_that_builds_two_events_is_never_split_across_batches():
    events = [ld_event(i) for i in range(6)]
    origins = [1, 2, 2, 3, 3, 4]
    batcher = Batcher(max_events=2)
    closed = batcher.add_block(0, Block("f", 1, [b"{}"] * 4), events, origins, [])
    closed.append(batcher.finish((0, 4)))
    assert [[o[1] for o in b.origins] for b in closed] == [[1], [2, 2], [3, 3], [4]]
    assert [b.end for b in closed] == [(0, 1), (0, 2), (0, 3), (0, 4)]


def test_a_batch_spans_the_filtered_lines_before_its_next_event():
    events = [ld_event(i) for i in range(3)]
    batcher = Batcher(max_events=2)
    closed = batcher.add_block(0, Block("f", 1, [b"{}"] * 10), events, [1, 2, 9], [])
    last = batcher.finish((0, 10))
    assert [b.end for b in closed] == [(0, 8)]  # lines 3..8 built nothing: settled with the first batch
    assert last is not None and last.end == (0, 10) and len(last) == 1


def test_batches_continue_across_sources_and_end_where_the_next_source_starts():
    batcher = Batcher(max_events=2)
    closed = batcher.add_block(0, Block("a", 1, [b"{}"]), [ld_event(0)], [1], [])
    closed += batcher.add_block(1, Block("b", 1, [b"{}"] * 2), [ld_event(1), ld_event(2)], [1, 2], [])
    assert [b.origins for b in closed] == [[(0, 1), (1, 1)]]
    assert closed[0].end == (1, 1)


def reference_batches(max_events: int, max_bytes: int, max_held: int,
                      lines: list[tuple[list[bytes], bool]]) -> list[tuple[list[bytes], list[int], int]]:
    """The batching rule, one line at a time: (events, held reject lines, end line) per batch."""
    out: list[tuple[list[bytes], list[int], int]] = []
    events: list[bytes] = []
    held: list[int] = []
    size = held_bytes = 0
    for number, (built, rejected) in enumerate(lines, 1):
        if built:
            line_size = sum(len(e) + 1 for e in built)
            if events and (len(events) + len(built) > max_events or size + line_size > max_bytes):
                out.append((events, held, number - 1))
                events, held, size, held_bytes = [], [], 0, 0
            events += built
            size += line_size
            if rejected:
                held.append(number)
                held_bytes += 2
        elif rejected:
            if held_bytes >= max_held:
                out.append((events, held, number - 1))
                events, held, size, held_bytes = [], [], 0, 0
            held.append(number)
            held_bytes += 202
    out.append((events, held, len(lines)))
    return out


line_plans = st.lists(st.tuples(st.lists(st.binary(min_size=1, max_size=40), max_size=3), st.booleans()),
                      max_size=60)


@settings(max_examples=300, deadline=None)
@given(plan=line_plans, max_events=st.integers(1, 6), max_bytes=st.integers(1, 120),
       max_held=st.integers(1, 700), cut=st.integers(0, 60))
def test_bulk_batcher_cuts_exactly_like_the_line_by_line_rule(plan, max_events, max_bytes, max_held, cut):
    from ld_segment_cli.pipeline import Outcome

    expected = reference_batches(max_events, max_bytes, max_held, plan)
    batcher = Batcher(max_events, max_bytes, max_held)
    closed: list[Batch] = []
    cut = min(cut, len(plan))
    for lo, hi in ((0, cut), (cut, len(plan))):  # two blocks: cuts must not depend on block boundaries
        events = [e for built, _ in plan[lo:hi] for e in built]
        origins = [lo + k + 1 for k, (built, _) in enumerate(plan[lo:hi]) for _ in built]
        rejected = [Outcome("f", lo + k + 1, b"zz") for k, (_, r) in enumerate(plan[lo:hi]) if r]
        closed += batcher.add_block(0, Block("f", lo + 1, [b"l"] * (hi - lo)), events, origins, rejected)
    last = batcher.finish((0, len(plan)))
    if last is not None:
        closed.append(last)
    got = [([b.event(i) for i in range(len(b))], [o.line for _, o in b.held], b.end[1]) for b in closed]
    if not got or got[-1][2] != len(plan):
        got.append(([], [], len(plan)))
    assert got == expected
    for b in closed:
        assert b.body() == b"[" + b",".join(b.event(i) for i in range(len(b))) + b"]"


# -- endpoint and client-side ID ---------------------------------------------------------------------------

def test_default_endpoint_is_the_bulk_path_on_events_launchdarkly_com():
    endpoint = resolve_endpoint(CLIENT_ID)
    assert endpoint.url == f"https://events.launchdarkly.com/events/bulk/{CLIENT_ID}"
    assert endpoint.default_host


def test_custom_events_host_is_used_over_https_and_skips_the_ld3_check():
    endpoint = resolve_endpoint(CLIENT_ID, events_host="events.eu.example.com")
    assert endpoint.url == f"https://events.eu.example.com/events/bulk/{CLIENT_ID}"
    assert not endpoint.default_host


@pytest.mark.parametrize("host", ["https://events.launchdarkly.com", "events.launchdarkly.com:443",
                                  "events.launchdarkly.com/x", ""])
def test_events_host_that_is_not_a_hostname_is_refused_with_segments_message(host):
    with pytest.raises(UserError, match="must be a valid hostname string"):
        resolve_endpoint(CLIENT_ID, events_host=host)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9", "http://127.1.2.3"])
def test_events_url_over_plain_http_is_accepted_for_loopback(url):
    assert resolve_endpoint(CLIENT_ID, events_url=url).url.startswith(url)


@pytest.mark.parametrize("url", ["http://10.0.0.1:8080", "http://example.com", "http://127.0.0.1.example.com"])
def test_events_url_over_plain_http_is_refused_for_other_hosts(url):
    with pytest.raises(UserError, match="only for loopback"):
        resolve_endpoint(CLIENT_ID, events_url=url)


def test_events_url_keeps_a_path_prefix_and_accepts_https_anywhere():
    endpoint = resolve_endpoint(CLIENT_ID, events_url="https://relay.example.com/ld/")
    assert endpoint.url == f"https://relay.example.com/ld/events/bulk/{CLIENT_ID}"


def test_missing_client_id_names_all_three_ways_to_give_it():
    with pytest.raises(UserError) as info:
        resolve_endpoint(None)
    assert "--client-id" in info.value.message and "LD_CLIENT_SIDE_ID" in info.value.message
    assert "settings.client_side_id" in info.value.message


@pytest.mark.parametrize(("value", "fragment"), [
    ("sdk-12345678-aaaa", "server-side SDK key"),
    ("mob-12345678-aaaa", "mobile key"),
    ("abc/def", "'/'"),
    ("abc def", "' '"),
    ("", "empty"),
])
def test_client_id_that_cannot_be_one_is_refused(value, fragment):
    problem = client_id_problem(value)
    assert problem is not None and fragment in problem


def test_loopback_detection():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("10.1.1.1") and not is_loopback("example.com")


@pytest.mark.parametrize(("value", "seconds"), [("2", 2.0), ("0.25", 0.25), ("-3", 0.0), (None, None),
                                                ("soon", None)])
def test_retry_after_is_read_as_seconds(value, seconds):
    assert retry_after_seconds(value) == seconds


def test_retry_after_as_an_http_date_is_seconds_from_now():
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == pytest.approx(10.0)


# -- faults: nothing lost, nothing duplicated after payload-ID de-duplication -------------------------------

def test_500s_are_retried_with_the_same_payload_id_and_delivered_once(fake):
    fake.inject(Fault(status=500, times=2))
    results, sender = send(fake, batches_of(5, 10))
    assert results[0].state == bytearray([ACKED] * 5)
    statuses = [r.status for r in fake.requests]
    assert statuses == [500, 500, 202]
    assert len({r.payload_id for r in fake.requests}) == 1
    assert keys(fake.events()) == all_keys(5)
    assert sender.stats.retries == 2


def test_429_waits_for_retry_after_before_the_next_attempt(fake):
    fake.inject(Fault(status=429, retry_after="0.4"))
    results, _ = send(fake, batches_of(3, 10))
    assert results[0].settled
    first, second = fake.requests
    assert first.status == 429 and second.status == 202
    assert second.at - first.at >= 0.38


def test_accepted_then_503_is_retried_and_the_duplicate_is_discarded_by_payload_id(fake):
    fake.inject(Fault(status=503, accept=True))
    results, _ = send(fake, batches_of(4, 10))
    assert results[0].state == bytearray([ACKED] * 4)
    assert len(fake.requests) == 2
    assert fake.duplicates == 1
    assert keys(fake.events()) == all_keys(4)


def test_dropped_connection_is_retried(fake):
    fake.inject(Fault(drop=True, times=2))
    results, _ = send(fake, batches_of(4, 10))
    assert results[0].settled
    assert [r.status for r in fake.requests] == [None, None, 202]
    assert keys(fake.events()) == all_keys(4)


def test_accepted_then_dropped_connection_is_retried_and_counted_once(fake):
    fake.inject(Fault(drop=True, accept=True))
    send(fake, batches_of(4, 10))
    assert keys(fake.events()) == all_keys(4) and fake.duplicates == 1


def test_slow_answer_past_the_timeout_is_retried(fake):
    fake.inject(Fault(status=202, accept=True, delay=1.0))
    results, sender = send(fake, batches_of(4, 10), timeout=0.3)
    assert results[0].settled
    assert "timed out" in sender.stats.last_error
    assert keys(fake.events()) == all_keys(4) and fake.wait_for_events(4)


def test_413_splits_the_batch_in_halves_until_each_part_fits(fake):
    fake.max_body = len(b"[" + b",".join(ld_event(i) for i in range(3)) + b"]")
    results, sender = send(fake, batches_of(10, 10))
    assert results[0].state == bytearray([ACKED] * 10)
    assert keys(fake.events()) == all_keys(10)
    assert sender.stats.splits >= 2
    accepted_sizes = sorted(len(orjson.loads(fake.body(pid))) for pid in fake.payload_ids())
    assert sum(accepted_sizes) == 10 and max(accepted_sizes) <= 3


def test_413_for_a_single_event_rejects_that_event(fake):
    fake.max_body = 10
    results, _ = send(fake, batches_of(2, 10))
    assert results[0].state == bytearray([FAILED, FAILED])
    assert "too large" in results[0].reasons[0] and "413" in results[0].reasons[0]


def test_400_is_retried_once_then_bisected_to_isolate_the_refused_events(fake):
    fake.refuse = lambda e: e["key"] in {"e3", "e11"}
    results, sender = send(fake, batches_of(16, 16))
    state = results[0].state
    assert [i for i, s in enumerate(state) if s == FAILED] == [3, 11]
    assert all(s == ACKED for i, s in enumerate(state) if i not in (3, 11))
    assert "400" in results[0].reasons[3]
    assert keys(fake.events()) == sorted(set(all_keys(16)) - {"e3", "e11"})
    assert fake.requests[0].status == 400 and fake.requests[1].status == 400  # the one retry first
    assert fake.requests[0].payload_id == fake.requests[1].payload_id
    assert sender.stats.bisections >= 1


def test_a_transient_400_is_absorbed_by_the_single_retry(fake):
    fake.inject(Fault(status=400))
    results, sender = send(fake, batches_of(8, 8))
    assert results[0].settled and sender.stats.bisections == 0
    assert keys(fake.events()) == all_keys(8)


def test_attempts_are_bounded_then_the_events_are_refused_with_the_last_answer(fake):
    fake.inject(Fault(status=503, times=100))
    results, _ = send(fake, batches_of(3, 10), max_attempts=3)
    assert results[0].state == bytearray([FAILED] * 3)
    assert results[0].reasons[0] == "not delivered after 3 attempts; last answer: HTTP 503 Service Unavailable"
    assert len(fake.requests) == 3


def test_other_4xx_is_not_retried(fake):
    fake.inject(Fault(status=422))
    results, _ = send(fake, batches_of(2, 10))
    assert results[0].state == bytearray([FAILED, FAILED])
    assert "422" in results[0].reasons[0] and "not retried" in results[0].reasons[0]
    assert len(fake.requests) == 1


@pytest.mark.parametrize("status", [401, 403, 404])
def test_credential_errors_stop_everything_at_once(fake, status):
    fake.status = status
    results, sender = send(fake, batches_of(30, 10), concurrency=1)
    assert sender.fatal is not None and sender.fatal.status == status
    assert len(fake.requests) == 1  # nothing more is sent
    assert all(PENDING in r.state for r in results)  # left pending: recorded by the run, resumable


def test_rate_limit_spaces_requests_to_the_events_per_second_budget(fake):
    started = time.monotonic()
    results, _ = send(fake, batches_of(50, 10), rate=100.0)
    elapsed = time.monotonic() - started
    assert all(r.settled for r in results)
    assert elapsed >= 0.38  # 5 batches of 10 at 100/s: the fifth may start 0.4 s after the first
    ats = sorted(r.at for r in fake.requests)
    # The fifth request cannot arrive before its slot, 0.4 s after the run started (without the budget all
    # five arrive within a few ms). Measured from the start, not from the first arrival: the first request
    # also pays for the connection and the compression thread's start, which would shorten the spread.
    assert ats[-1] - started >= 0.38


def test_429_pauses_the_other_requests_too(fake):
    fake.inject(Fault(status=429, retry_after="0.5"))
    results, _ = send(fake, batches_of(20, 5), concurrency=1)
    assert all(r.settled for r in results)
    first = fake.requests[0]
    assert first.status == 429
    assert all(r.at - first.at >= 0.45 for r in fake.requests[1:])


def test_stop_leaves_unsent_batches_pending_and_sends_nothing_new(fake):
    fake.inject(Fault(status=503, times=100))
    sender = Sender(DeliveryOptions(url=fake.url + "/events/bulk/x", retry_base=5.0, retry_cap=5.0), ["f"])
    sender.start()
    batches = batches_of(6, 3)
    for b in batches:
        sender.submit(b)
    deadline = time.monotonic() + 5
    while len(fake.requests) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    sender.stop()
    results = [sender.results.get(timeout=5) for _ in batches]
    sender.close(timeout=5)
    assert time.monotonic() - started < 2  # backoff sleeps wake up at once
    assert all(r.state == bytearray([PENDING] * 3) for r in results)
    assert len(fake.requests) == 2
