"""launchdarkly.md section 9.1 vectors, end to end through `ld-segment dry-run --format ndjson`."""

from __future__ import annotations

import json

import orjson
import pytest
from conftest import run_cli

TRACK_ANON = "72d7bed1-4f42-4f2f-8955-72677340546b"
ALIAS_ANON = "701a9c00-aabe-4074-80b7-0fd6cab41c08"

# (id, event, mappings-file fields for the matching mapping or None for the presets, expected body element)
VECTORS = [
    ("L1", {"anonymousId": ALIAS_ANON, "event": "Test Event", "properties": {}, "timestamp": "2022-03-30T17:24:58Z",
            "type": "identify", "userId": "user1234"}, None,
     '{"kind":"alias","key":"user1234","previousKey":"701a9c00-aabe-4074-80b7-0fd6cab41c08","contextKind":"user",'
     '"previousContextKind":"anonymousUser","creationDate":1648661098000}'),
    ("L3", {"anonymousId": "anonId1234", "event": "Test Event", "properties": {}, "timestamp": "2022-03-30T17:24:58Z",
            "type": "alias", "userId": "user1234", "previousId": ALIAS_ANON}, None,
     '{"kind":"alias","key":"user1234","previousKey":"701a9c00-aabe-4074-80b7-0fd6cab41c08","contextKind":"user",'
     '"previousContextKind":"anonymousUser","creationDate":1648661098000}'),
    ("L5", {"anonymousId": TRACK_ANON, "event": "Test Event", "properties": {"revenue": 123.456},
            "timestamp": "2022-03-30T17:24:58Z", "type": "track", "userId": "user1234"}, None,
     '{"kind":"custom","key":"Test Event","contextKeys":{"unauthenticatedUser":"72d7bed1-4f42-4f2f-8955-72677340546b",'
     '"user":"user1234"},"creationDate":1648661098000,"metricValue":123.456,"data":{"revenue":123.456}}'),
    ("L7", {"anonymousId": TRACK_ANON, "event": "Test Event", "properties": {"revenue": 123.456, "previousId": "test123"},
            "timestamp": "2022-03-30T17:24:58Z", "type": "track", "userId": "user1234"},
     {"context_kind": "segmentUser", "additional_context_keys": {"previousId": {"@path": "$.properties.previousId"}}},
     '{"kind":"custom","key":"Test Event","contextKeys":{"previousId":"test123","segmentUser":"user1234"},'
     '"creationDate":1648661098000,"metricValue":123.456,"data":{"revenue":123.456,"previousId":"test123"}}'),
    ("L8", {"anonymousId": TRACK_ANON, "event": "Test Event", "properties": {"revenue": 123.456, "previousId": "test123"},
            "timestamp": "2022-03-30T17:24:58Z", "type": "track", "userId": "user1234"},
     {"context_kind": "segmentUser", "additional_context_keys": {}},
     '{"kind":"custom","key":"Test Event","contextKeys":{"segmentUser":"user1234"},"creationDate":1648661098000,'
     '"metricValue":123.456,"data":{"revenue":123.456,"previousId":"test123"}}'),
    ("L9", {"anonymousId": TRACK_ANON, "event": "Test Event", "properties": {"revenue": 123.456},
            "timestamp": "2022-03-30T17:24:58Z", "type": "track"}, None,
     '{"kind":"custom","key":"Test Event","contextKeys":{"unauthenticatedUser":"72d7bed1-4f42-4f2f-8955-72677340546b",'
     '"user":"72d7bed1-4f42-4f2f-8955-72677340546b"},"creationDate":1648661098000,"metricValue":123.456,'
     '"data":{"revenue":123.456}}'),
]


def _mappings_file(tmp_path, action: str, fields: dict) -> str:
    trigger = 'type = "track"' if action == "trackEvent" else 'type = "identify" or type = "alias"'
    path = tmp_path / "mappings.yaml"
    doc = {"version": 1, "mappings": [{"name": "Under test", "trigger": trigger, "action": action, "fields": fields}]}
    path.write_text(json.dumps(doc))  # JSON is YAML
    return str(path)


@pytest.mark.parametrize(("vid", "event", "fields", "expected"), VECTORS, ids=[v[0] for v in VECTORS])
@pytest.mark.parametrize("compat", [False, True], ids=["default", "segment-compat"])
def test_launchdarkly_vector_through_dry_run(tmp_path, vid, event, fields, expected, compat):
    args = ["dry-run", "--format", "ndjson", "-"]
    if fields is not None:
        args += ["-m", _mappings_file(tmp_path, "trackEvent", fields)]
    if compat:
        args.append("--segment-compat")
    result = run_cli(args, input=orjson.dumps(event) + b"\n")
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == expected.encode() + b"\n"


def test_alias_with_null_previous_key_is_rejected_with_segments_message(tmp_path):
    """L4: anonymousId and previousId null → the required-field message, in the rejects file, stage map."""
    event = {"anonymousId": None, "event": "Test Event", "properties": {}, "timestamp": "2022-03-30T17:24:58Z",
             "type": "identify", "userId": "user1234", "previousId": None}
    rejects = tmp_path / "rejects.ndjson"
    raw = orjson.dumps(event)
    result = run_cli(["dry-run", "--format", "ndjson", "--rejects", str(rejects), "-"], input=raw + b"\n")
    assert result.exit_code == 0
    assert result.stdout_bytes == b""
    [record] = [orjson.loads(line) for line in rejects.read_bytes().splitlines()]
    assert record == {"source": "-", "line": 1, "stage": "map", "mapping": "Alias User",
                      "reason": "The root value is missing the required field 'previous_key'.", "raw": raw.decode()}


def test_fail_on_reject_exits_1_when_a_line_is_rejected():
    event = {"type": "identify", "anonymousId": "a", "timestamp": "2022-03-30T17:24:58Z"}
    result = run_cli(["dry-run", "--format", "ndjson", "--fail-on-reject", "-"], input=orjson.dumps(event))
    assert result.exit_code == 1
    assert "1 rejected" in result.stderr
