"""The hot path (Engine.map_block: NDJSON dry-run, send, workers) and the per-line path (Engine.process: the
rich and JSON views) are two implementations of one contract; on any input they must agree on the events
written, the rejects (line, stage, mapping, reason) and every count of the summary."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ld_segment_cli import js
from ld_segment_cli.config import load_destination
from ld_segment_cli.options import build_engine
from ld_segment_cli.pipeline import Engine, Summary
from ld_segment_cli.sources import Block, Line

TYPES = ["track", "identify", "alias", "page", None, 7]
TIMESTAMPS = ["2024-03-01T10:00:00.000Z", "2024-03-02T10:00:00Z", "1648661098", None, "soon", 1709287200000]
IDS = ["m-1", "m-2", "m-3", None, 5]

event = st.fixed_dictionaries(
    {"type": st.sampled_from(TYPES)},
    optional={
        "messageId": st.sampled_from(IDS),
        "userId": st.sampled_from(["u-1", "", None, 12, "u-2"]),
        "anonymousId": st.sampled_from(["a-1", None, "a-2"]),
        "previousId": st.sampled_from(["p-1", None]),
        "event": st.sampled_from(["Order Completed", "Signed Up", "", None, 3]),
        "timestamp": st.sampled_from(TIMESTAMPS),
        "properties": st.one_of(
            st.none(),
            st.fixed_dictionaries({}, optional={"revenue": st.sampled_from([12.5, 2.0, "9.99", None, 1e-7]),
                                               "value": st.sampled_from([3, "x", None])}),
        ),
    },
)
# Keys the hot path may read or skip (it decodes only what the run reads), with values that readers judge
# differently: beyond a double's range, beyond 64 bits, non-ASCII, not UTF-8, lone surrogates, deep.
ODD = st.sampled_from([b"1e400", b"123456789012345678901234567890", b'"\xc3\xa9"', b'"\xff"', b'"\\ud800"',
                       b"[" * 1030 + b"]" * 1030, b'{"revenue":1e400,"value":18446744073709551617}',
                       b'{"revenue":-0.0,"n":' + b"9" * 30 + b"}", b"[1,}"])
odd_event = st.tuples(event.map(orjson.dumps), st.sampled_from([b"context", b"properties", b"sentAt"]), ODD).map(
    lambda parts: parts[0][:-1] + (b"," if len(parts[0]) > 2 else b"") + b'"' + parts[1] + b'":' + parts[2] + b"}")
line = st.one_of(
    event.map(orjson.dumps),
    event.map(orjson.dumps),
    odd_event,
    st.sampled_from([b"", b"   ", b"{not json", b"[1,2]", b"null", b'"text"', b"\xff\xfe", b"NaN"]),
)

MAPPINGS = {"three mappings": """
mappings:
  - name: Orders
    action: trackEvent
    trigger: type = "track" and event = "Order Completed"
  - name: Any track
    action: trackEvent
    trigger: type = "track"
  - name: Aliases
    action: aliasUser
    trigger: type = "identify" or type = "alias"
""",
    # every trigger tests `type` alone: the hot path looks the mappings up by it (two fire on "track")
    "one field, shared": """
mappings:
  - name: Tracks
    action: trackEvent
    trigger: type = "track"
  - name: Tracks and pages
    action: trackEvent
    trigger: type = "page" or type = "track"
    fields:
      event_name: {"@path": "$.type"}
  - name: Aliases
    action: aliasUser
    trigger: type = "alias"
""",
    # a lookup of the whole event: its reads are not known, the hot path decodes every key
    "whole event": """
mappings:
  - name: Tracks
    action: trackEvent
    trigger: type = "track"
    fields:
      event_properties: {"@path": "$."}
""",
}

CONFIGS = {
    "presets, dedupe": dict(where=None, since=None, until=None, dedupe=True),
    "presets, no dedupe": dict(where=None, since=None, until=None, dedupe=False),
    "window and where": dict(where='type != "page"', since="2024-03-01T12:00:00Z", until=None, dedupe=True),
    # the hot path's messageIds leave their set for the compact tables after two ids, mid-run
    "dedupe, set then tables": dict(where=None, since=None, until=None, dedupe=True, small_ids=2),
}


def _message_ids(lines: list[bytes]) -> set[str]:
    ids = set()
    for raw in lines:
        try:
            event = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        if type(event) is dict and type(event.get("messageId")) is str:
            ids.add(event["messageId"])
    return ids


def _per_line(engine: Engine, lines: list[bytes]) -> tuple[list[bytes], list[Any], dict[str, Any]]:
    summary = Summary()
    out, rejects = [], []
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        outcome = engine.process(Line("in", number, raw))
        summary.add(outcome)
        out += [js.dumps(built) for _, built in outcome.built]
        rejects += [(outcome.line, r.stage, r.mapping, r.reason) for r in outcome.rejects]
    return out, rejects, summary.to_dict()


def _hot(engine: Engine, lines: list[bytes]) -> tuple[list[bytes], list[Any], dict[str, Any]]:
    summary = Summary()
    out: list[bytes] = []
    rejected: list[Any] = []
    for start in range(0, len(lines), 7):  # several blocks
        engine.map_block(Block("in", start + 1, lines[start:start + 7]), out, summary, rejected)
    rejects = [(o.line, r.stage, r.mapping, r.reason) for o in rejected for r in o.rejects]
    return out, rejects, summary.to_dict()


@pytest.mark.parametrize("mappings", [None, *MAPPINGS], ids=["presets", *MAPPINGS])
@pytest.mark.parametrize("config", list(CONFIGS), ids=list(CONFIGS))
def test_hot_path_agrees_with_the_per_line_path(tmp_path, mappings: str | None, config: str) -> None:
    path = None
    if mappings is not None:
        path = tmp_path / "m.yaml"
        path.write_text(MAPPINGS[mappings])
    destination = load_destination(str(path) if path else None)

    options = dict(CONFIGS[config])
    small_ids = options.pop("small_ids", None)

    @settings(max_examples=150, deadline=None)
    @given(st.lists(line, max_size=30))
    def check(lines: list[bytes]) -> None:
        engine = build_engine(destination, **options)
        if small_ids is not None:
            engine.expect(0, small_ids=small_ids)
        hot = _hot(engine, lines)
        assert hot == _per_line(build_engine(destination, **options), lines)
        if small_ids is not None and len(_message_ids(lines)) >= small_ids:
            assert engine.seen is not None and engine.seen.open_set() is None  # it did move

    check()


@pytest.mark.parametrize(("mappings", "looked_up"), [(None, True), ("one field, shared", True),
                                                      ("three mappings", False)])
def test_mappings_whose_triggers_test_one_shared_field_are_looked_up_by_it(tmp_path, mappings: str | None,
                                                                           looked_up: bool) -> None:
    path = None
    if mappings is not None:
        path = tmp_path / "m.yaml"
        path.write_text(MAPPINGS[mappings])
    engine = Engine(load_destination(str(path) if path else None))
    assert (engine._dispatch is not None) is looked_up
    if mappings == "one field, shared":
        assert engine._dispatch is not None
        field, table = engine._dispatch
        assert field == "type" and [entry[0] for entry in table["track"]] == [0, 1]
