"""The structural diff behind `dry-run --against` and `ld-segment test`."""

from __future__ import annotations

from ld_segment_cli.diff import DiffTotals, FieldChange, diff_line, field_changes

BASE = {"kind": "custom", "key": "Order", "contextKeys": {"user": "u1"}, "creationDate": 1, "metricValue": 5,
        "data": {"a": 1}}


def test_field_changes_reports_added_removed_and_changed_leaves_with_paths():
    after = {"kind": "custom", "key": "Order", "contextKeys": {"user": "u2", "org": "o"}, "creationDate": 1,
             "data": {"a": 1, "b": [1]}}
    assert field_changes(BASE, after) == [
        FieldChange("changed", "contextKeys.user", "u1", "u2"),
        FieldChange("added", "contextKeys.org", new="o"),
        FieldChange("removed", "metricValue", old=5),
        FieldChange("added", "data.b", new=[1]),
    ]


def test_numbers_and_booleans_are_not_confused():
    assert field_changes({"v": 1}, {"v": True}) == [FieldChange("changed", "v", 1, True)]
    assert field_changes({"v": 1}, {"v": 1.0}) == []


def test_identical_outputs_give_no_diff():
    assert diff_line("f", 1, [("Track", BASE)], [("Track", dict(BASE))]) is None


def test_events_that_appear_and_disappear_are_reported_and_counted():
    alias = {"kind": "alias", "key": "u1", "previousKey": "a1"}
    appeared = diff_line("f", 2, [], [("Orders", BASE)])
    disappeared = diff_line("f", 3, [("Alias", alias)], [])
    assert [c.status for c in appeared.changes] == ["appeared"]
    assert [c.status for c in disappeared.changes] == ["disappeared"]
    totals = DiffTotals()
    for d in (appeared, disappeared, None):
        totals.add(d)
    assert (totals.lines, totals.lines_changed, totals.events_appeared, totals.events_disappeared) == (3, 2, 1, 1)
    assert totals.keys_gained == {"Order": 1} and totals.keys_lost == {"u1": 1}


def test_a_changed_event_key_moves_events_between_keys():
    renamed = dict(BASE, key="purchase")
    diff = diff_line("f", 1, [("Track", BASE)], [("Track", renamed)])
    totals = DiffTotals()
    totals.add(diff)
    assert totals.fields == {("changed", "key"): 1}
    assert totals.keys_gained == {"purchase": 1} and totals.keys_lost == {"Order": 1}


def test_events_pair_by_mapping_name_then_kind():
    other = dict(BASE, key="x")
    diff = diff_line("f", 1, [("A", BASE), ("B", other)], [("B", dict(other, metricValue=6)), ("A", BASE)])
    assert [(c.status, c.mapping, [f.path for f in c.fields]) for c in diff.changes] == [
        ("changed", "B", ["metricValue"])]
