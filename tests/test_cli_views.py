"""dry-run's views through the CLI: rich (fixed width), json, diff (--against) and `ld-segment test`."""

from __future__ import annotations

import orjson
import pytest
from conftest import ROOT, ndjson, run_cli, stderr_of_cli

EXAMPLE = str(ROOT / "mappings.example.yaml")
EVENTS = [
    {"type": "track", "event": "Order Completed", "userId": "u1", "anonymousId": "a1", "messageId": "m1",
     "timestamp": "2024-01-01T00:00:00Z", "properties": {"revenue": 12.5, "currency": "USD", "product_id": "sku-1",
                                                           "quantity": 2, "coupon": None}},
    {"type": "track", "event": "Product Viewed", "anonymousId": "a2", "messageId": "m2",
     "timestamp": "2024-01-01T00:00:01Z", "properties": {"value": 7}},
    {"type": "identify", "userId": "u3", "anonymousId": "a3", "messageId": "m3", "timestamp": "2024-01-01T00:00:02Z"},
    {"type": "page", "name": "Checkout", "userId": "u4", "anonymousId": "a4", "messageId": "m4", "timestamp": "2024-01-01T00:00:03Z"},
]
WIDE = {"COLUMNS": "120", "TERM": "dumb"}


def _changed_copy(tmp_path, old: str, new: str) -> str:
    text = (ROOT / "mappings.example.yaml").read_text()
    assert old in text
    path = tmp_path / "changed.yaml"
    path.write_text(text.replace(old, new, 1))
    return str(path)


def test_rich_view_shows_origin_mapping_and_payload():
    result = run_cli(["dry-run", "-m", EXAMPLE, "--format", "rich", "-"], input=ndjson(EVENTS), env=WIDE)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "-:1 → Orders as revenue metric (trackEvent)" in out
    assert '"key": "purchase:USD"' in out
    assert "-:3 → Alias User (aliasUser)" in out
    assert "-:4" not in out  # unmatched events are hidden by default
    assert "lines read" in result.stderr and "outgoing events" in result.stderr


def test_rich_view_show_unmatched_lists_only_unmatched_events():
    result = run_cli(["dry-run", "-m", EXAMPLE, "--format", "rich", "--show", "unmatched", "-"],
                     input=ndjson(EVENTS), env=WIDE)
    assert "-:4 · no mapping fired (type='page')" in result.stdout
    assert "-:1" not in result.stdout


def test_json_format_is_one_document_with_events_and_summary():
    result = run_cli(["dry-run", "-m", EXAMPLE, "--format", "json", "-"], input=ndjson(EVENTS))
    doc = orjson.loads(result.stdout_bytes)
    assert [e["key"] for e in doc["events"]] == ["purchase:USD", "Product Viewed", "u3"]
    assert doc["summary"]["lines_read"] == 4 and doc["summary"]["lines_filtered"] == 1


def test_limit_stops_after_n_outgoing_events():
    result = run_cli(["dry-run", "-m", EXAMPLE, "--format", "ndjson", "--limit", "2", "-"], input=ndjson(EVENTS))
    assert len(result.lines()) == 2


def test_against_shows_only_events_that_change_with_field_level_detail(tmp_path):
    changed = _changed_copy(tmp_path, 'metric_value: {"@path": "$.properties.revenue"}',
                            'metric_value: {"@path": "$.properties.quantity"}')
    result = run_cli(["dry-run", "-m", EXAMPLE, "--against", changed, "--format", "rich", "-"],
                     input=ndjson(EVENTS), env=WIDE)
    assert result.exit_code == 0, result.stderr
    assert "-:1" in result.stdout and "~ metricValue: 12.5 → 2" in result.stdout
    assert "-:2" not in result.stdout and "-:3" not in result.stdout
    assert "field changed: metricValue" in result.stderr


def test_against_ndjson_emits_one_record_per_changed_event_including_appearing_ones(tmp_path):
    changed = _changed_copy(tmp_path, 'trigger: type = "identify" or type = "alias"',
                            'trigger: type = "identify" or type = "alias" or type = "page"')
    result = run_cli(["dry-run", "-m", EXAMPLE, "--against", changed, "--format", "ndjson", "-"],
                     input=ndjson(EVENTS))
    assert result.exit_code == 0, result.stderr
    records = result.lines()
    assert [(r["source"], r["line"]) for r in records] == [("-", 4)]
    assert records[0]["before"] == [] and records[0]["after"][0]["kind"] == "alias"
    assert "1 differ" in result.stderr and "1 appear" in result.stderr


def test_embedded_tests_of_the_example_pass():
    result = run_cli(["test", "-m", EXAMPLE])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "4 passed, 0 failed" in result.stdout


def test_a_failing_embedded_test_prints_expected_versus_actual_and_exits_1(tmp_path):
    broken = _changed_copy(tmp_path, "creationDate: 1704067200000, metricValue: 12.5",
                           "creationDate: 1704067200000, metricValue: 99")
    result = run_cli(["test", "-m", broken], env=WIDE)
    assert result.exit_code == 1
    assert "FAIL an order becomes the revenue metric" in result.stdout
    assert "~ metricValue: 99 → 12.5" in result.stdout
    assert "3 passed, 1 failed" in result.stdout


@pytest.mark.parametrize("tty", [True, False], ids=["terminal", "pipe"])
def test_progress_bar_on_stderr_only_when_it_is_a_terminal(tmp_path, tty):
    from gen_events import events

    path = tmp_path / "e.ndjson"
    path.write_bytes(ndjson(list(events(3000, seed=5))))
    code, err = stderr_of_cli(["dry-run", "--format", "ndjson", str(path)], tty)
    assert code == 0, err
    assert ("reading" in err and "━" in err) is tty
    assert ("lines read" in err)  # the summary, as a table on a terminal, one line otherwise


def test_explain_shows_each_clause_the_mappings_that_fire_and_where_each_field_came_from():
    event = orjson.dumps(EVENTS[0]).decode()
    result = run_cli(["explain", "-m", EXAMPLE, event], env=WIDE)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert '✗ event != "Order Completed" — event is "Order Completed" → false' in out
    assert "user_key ← @path $.userId → \"u1\"" in out
    assert out.count("user_key ← @path $.userId") == 1  # @if's test and value read the same path: shown once
    assert '"key": "purchase:USD"' in out
    assert out.rstrip().endswith("fires: Orders as revenue metric")


def test_explain_takes_the_event_from_a_file_line():
    sample = ROOT / "sample_events" / "2024-01-01" / "segment-export-2024-01-01-part-0000.ndjson"
    result = run_cli(["explain", "--line", f"{sample}:1"], env=WIDE)
    assert result.exit_code == 0, result.stderr
    assert "Track Event  (trackEvent)" in result.stdout and "fires:" in result.stdout
    missing = run_cli(["explain", "--line", f"{sample}:100000"])
    assert missing.exit_code == 2 and "no event on line 100000" in missing.stderr
