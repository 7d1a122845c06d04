"""Inputs: every kind of bad line ends in the rejects file with a reason, never a traceback, and good lines flow."""

from __future__ import annotations

import gzip
import os

import orjson
import pytest
from conftest import ndjson, run_cli
from gen_events import events
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

GOOD = list(events(6, seed=3))  # track, identify, ... with messageIds and timestamps


def _rejects(path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def _json_run(args: list[str], input: bytes | None = None) -> dict:
    run = run_cli(["dry-run", "--format", "json", *args], input=input)
    assert run.exit_code == 0, run.stderr
    return orjson.loads(run.stdout_bytes)["summary"]


def _expected_events(evs: list[dict]) -> list[dict]:
    run = run_cli(["dry-run", "--format", "ndjson", "-"], input=ndjson(evs))
    return run.lines()


BAD_LINES: dict[str, tuple[bytes, str]] = {
    "invalid json": (b'{"type": "track", "event": ', "invalid JSON"),
    "not an object": (b'["track"]', "not a JSON object"),
    "a number": (b"42", "the line is a number"),
    "invalid utf-8": (b'{"type":"track","event":"caf\xe9"}', "not valid UTF-8"),
    "nan": (b'{"type":"track","properties":{"revenue":NaN}}', "NaN and Infinity"),
    "infinity": (b'{"type":"track","properties":{"revenue":-Infinity}}', "NaN and Infinity"),
    "deep nesting": (b'{"a":' * 2000 + b"1" + b"}" * 2000, "nested deeper than 1024"),
    # in a key no preset reads (the hot path decodes only the keys a run reads, and checks the rest)
    "invalid utf-8, unread": (b'{"type":"track","context":{"page":"caf\xe9"}}', "not valid UTF-8 (byte 0xe9"),
    "lone surrogate, unread": (b'{"type":"track","context":{"page":"\\ud800"}}', "no low surrogate in string"),
    "broken json, unread": (b'{"type":"track","context":{"page":[1,}}', "invalid JSON"),
}


@pytest.mark.parametrize("kind", sorted(BAD_LINES))
def test_each_bad_line_is_rejected_with_its_reason_and_good_lines_flow(tmp_path, kind):
    bad, reason = BAD_LINES[kind]
    data = ndjson(GOOD[:3]) + bad + b"\n" + ndjson(GOOD[3:])
    (tmp_path / "in.ndjson").write_bytes(data)
    rejects = tmp_path / "rejects.ndjson"
    run = run_cli(["dry-run", "--format", "ndjson", "--rejects", str(rejects), str(tmp_path / "in.ndjson")])
    assert run.exit_code == 0
    assert "Traceback" not in run.stderr
    assert run.lines() == _expected_events(GOOD)
    [record] = _rejects(rejects)
    assert record["line"] == 4 and record["stage"] == "parse" and record["mapping"] is None
    assert reason in record["reason"]
    assert record["raw"] == bad.decode("utf-8", errors="replace")
    assert "1 rejected" in run.stderr


def test_bom_crlf_and_blank_lines_are_tolerated_and_numbered(tmp_path):
    lines = [orjson.dumps(e) for e in GOOD]
    data = b"\xef\xbb\xbf" + lines[0] + b"\r\n\r\n   \n" + b"\r\n".join(lines[1:]) + b"\r\n"
    (tmp_path / "in.ndjson").write_bytes(data)
    rejects = tmp_path / "r.ndjson"
    run = run_cli(["dry-run", "--format", "ndjson", "--rejects", str(rejects), str(tmp_path / "in.ndjson")])
    assert run.lines() == _expected_events(GOOD)
    assert rejects.read_bytes() == b""


def test_truncated_gzip_keeps_what_it_holds_and_rejects_the_rest(tmp_path):
    blob = gzip.compress(ndjson(GOOD))
    (tmp_path / "cut.ndjson.gz").write_bytes(blob[: len(blob) * 2 // 3])
    rejects = tmp_path / "r.ndjson"
    run = run_cli(["dry-run", "--format", "ndjson", "--rejects", str(rejects), str(tmp_path / "cut.ndjson.gz")])
    assert run.exit_code == 0
    kept = run.lines()
    assert kept == _expected_events(GOOD)[: len(kept)]
    [record] = _rejects(rejects)
    assert record["stage"] == "parse" and "truncated gzip" in record["reason"]


def test_gzip_detected_by_magic_bytes_and_zstd_by_frame(tmp_path):
    import zstandard

    (tmp_path / "a.ndjson").write_bytes(gzip.compress(ndjson(GOOD[:3])))  # no .gz suffix
    (tmp_path / "b.ndjson.zst").write_bytes(zstandard.ZstdCompressor().compress(ndjson(GOOD[3:])))
    run = run_cli(["dry-run", "--format", "ndjson", str(tmp_path)])
    assert run.lines() == _expected_events(GOOD)


def test_an_over_long_line_is_rejected_and_skipped_to_its_end(tmp_path):
    big = orjson.dumps({**GOOD[0], "messageId": "big", "properties": {"blob": "x" * 5000}})
    (tmp_path / "in.ndjson").write_bytes(ndjson(GOOD[:2]) + big + b"\n" + ndjson(GOOD[2:]))
    rejects = tmp_path / "r.ndjson"
    run = run_cli(["dry-run", "--format", "ndjson", "--max-line-bytes", "2000", "--rejects", str(rejects),
                   str(tmp_path / "in.ndjson")])
    assert run.lines() == _expected_events(GOOD)
    [record] = _rejects(rejects)
    assert record["line"] == 3 and "--max-line-bytes" in record["reason"]
    assert len(record["raw"]) == 1024


def test_missing_or_unreadable_explicit_input_exits_2_before_reading(tmp_path):
    run = run_cli(["dry-run", "--format", "ndjson", str(tmp_path / "gone.ndjson")])
    assert run.exit_code == 2 and "no such file" in run.stderr and run.stdout == ""


def test_a_file_that_disappears_after_listing_is_a_reject_not_a_crash(tmp_path, monkeypatch):
    from ld_segment_cli import sources

    (tmp_path / "a.ndjson").write_bytes(ndjson(GOOD[:2]))
    (tmp_path / "b.ndjson").write_bytes(ndjson(GOOD[2:]))
    expected = _expected_events(GOOD[2:])
    real = sources.expand_inputs

    def expand_then_delete(args, **kw):
        found = real(args, **kw)
        os.unlink(tmp_path / "a.ndjson")
        return found

    monkeypatch.setattr("ld_segment_cli.cli.expand_inputs", expand_then_delete)
    rejects = tmp_path / "r.ndjson"
    run = run_cli(["dry-run", "--format", "ndjson", "--rejects", str(rejects), str(tmp_path)])
    assert run.exit_code == 0
    assert run.lines() == expected
    [record] = _rejects(rejects)
    assert "cannot open" in record["reason"] and record["source"].endswith("a.ndjson")


def test_fail_fast_stops_at_the_first_bad_line_with_exit_1(tmp_path):
    data = ndjson(GOOD[:2]) + b"{oops\n" + ndjson(GOOD[2:])
    run = run_cli(["dry-run", "--format", "ndjson", "--fail-fast", "-"], input=data)
    assert run.exit_code == 1
    assert ":3: invalid JSON" in run.stderr and "--fail-fast" in run.stderr
    assert run.lines() == _expected_events(GOOD[:2])


def test_duplicate_message_ids_are_skipped_and_counted_unless_no_dedupe():
    data = ndjson(GOOD + GOOD[:2])
    summary = _json_run(["-"], input=data)
    assert summary["lines_read"] == 8 and summary["lines_duplicate"] == 2
    run = run_cli(["dry-run", "--format", "ndjson", "-"], input=data)
    assert run.lines() == _expected_events(GOOD)
    assert "2 duplicates" in run.stderr
    again = run_cli(["dry-run", "--format", "ndjson", "--no-dedupe", "-"], input=data)
    assert again.lines() == _expected_events(GOOD) + _expected_events(GOOD[:2])


def test_since_and_until_select_by_event_timestamp_until_exclusive():
    evs = [{**GOOD[0], "messageId": f"m{day}", "timestamp": f"2024-03-0{day}T00:00:00.000Z"} for day in range(1, 6)]
    summary = _json_run(["--since", "2024-03-02", "--until", "2024-03-04T00:00:00Z", "-"], input=ndjson(evs))
    assert summary["lines_built"] == 2 and summary["lines_outside_time_window"] == 3
    run = run_cli(["dry-run", "--format", "ndjson", "--since", "2024-03-02", "--until", "2024-03-04", "-"],
                  input=ndjson(evs))
    assert [e["creationDate"] for e in run.lines()] == [1709337600000, 1709424000000]


def test_since_rejects_events_without_a_usable_timestamp(tmp_path):
    ev = {k: v for k, v in GOOD[0].items() if k != "timestamp"}
    summary = _json_run(["--since", "2024-01-01", "-"], input=ndjson([ev]))
    assert summary["lines_rejected"] == 1 and "--since/--until" in next(iter(summary["rejects_by_reason"]))
    rejects = tmp_path / "r.ndjson"
    run = run_cli(["dry-run", "--format", "ndjson", "--since", "2024-01-01", "--rejects", str(rejects), "-"],
                  input=ndjson([ev]))
    [record] = _rejects(rejects)
    assert record["stage"] == "parse" and record["line"] == 1 and record["raw"] == orjson.dumps(ev).decode()
    assert record["reason"] == "timestamp is missing or not a date, so --since/--until cannot place the event"
    assert run.stdout_bytes == b""


def test_bad_since_value_is_a_usage_error():
    run = run_cli(["dry-run", "--since", "last tuesday", "-"], input=b"")
    assert run.exit_code == 2 and "ISO 8601" in run.stderr


def test_every_line_is_accounted_for_in_both_engines(tmp_path):
    data = ndjson(GOOD) + b"{bad\n" + ndjson(GOOD[:1]) + b"[1]\n"
    fast = run_cli(["dry-run", "--format", "ndjson", "-"], input=data)
    slow = _json_run(["-"], input=data)
    assert slow["lines_read"] == 9
    assert slow["lines_read"] == (slow["lines_built"] + slow["lines_filtered"] + slow["lines_rejected"]
                                  + slow["lines_duplicate"] + slow["lines_outside_time_window"]
                                  + slow["lines_excluded_by_where"])
    assert f"{slow['lines_read']} lines read: {slow['lines_built']} built" in fast.stderr


def test_workers_produce_the_same_output_rejects_and_counts_as_one_process(tmp_path):
    evs = list(events(3000, seed=11))
    data = ndjson(evs[:1500]) + b"{broken\n" + ndjson(evs[1500:]) + ndjson(evs[10:20])
    (tmp_path / "in.ndjson").write_bytes(data)
    outs = []
    for workers in ("1", "2"):
        rejects = tmp_path / f"r{workers}.ndjson"
        run = run_cli(["dry-run", "--format", "ndjson", "--workers", workers, "--rejects", str(rejects),
                       str(tmp_path / "in.ndjson")])
        assert run.exit_code == 0, run.stderr
        outs.append((run.stdout_bytes, rejects.read_bytes(), run.stderr))
    assert outs[0] == outs[1]
    assert "10 duplicates" in outs[0][2]


garbage = st.lists(st.one_of(st.binary(max_size=60), st.sampled_from([b"{", b"}", b"[]", b"null", b"\xff\xfe",
                                                                     b"\r", b"\x00", b'{"type":"track"'])),
                   max_size=6).map(b"".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunks=st.lists(garbage, min_size=1, max_size=8), compress=st.booleans())
def test_random_garbage_mixed_with_valid_lines_never_raises_or_loses_a_valid_line(tmp_path, chunks, compress):
    good = [orjson.dumps({**GOOD[0], "messageId": f"g{i}", "event": f"E{i}"}) for i in range(len(chunks))]
    body = b"".join(g.replace(b"\n", b" ") + b"\n" + ok + b"\n" for g, ok in zip(chunks, good, strict=True))
    if compress:
        body = gzip.compress(body)
    path = tmp_path / "mixed.ndjson"
    path.write_bytes(body)
    rejects = tmp_path / "r.ndjson"
    run = run_cli(["dry-run", "--format", "ndjson", "--no-dedupe", "--rejects", str(rejects), str(path)])
    assert run.exit_code == 0
    assert "Traceback" not in run.stderr
    keys = [e["key"] for e in run.lines()]
    for i in range(len(chunks)):
        assert f"E{i}" in keys
    assert "lines read" in run.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_reader_that_goes_away_ends_the_run_quietly(tmp_path, workers):
    import subprocess
    import sys

    from conftest import ROOT

    path = tmp_path / "in.ndjson"
    path.write_bytes(ndjson(list(events(6000, seed=13))))
    cmd = [sys.executable, "-c", "from ld_segment_cli import cli\ncli.main()\n", "dry-run", "--format", "ndjson",
           "--workers", workers, str(path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={"PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert orjson.loads(first)["kind"] in ("custom", "alias")
    assert "Traceback" not in err


def test_workers_with_a_view_that_needs_one_process_says_so():
    run = run_cli(["dry-run", "--format", "json", "--workers", "2", "-"], input=ndjson(GOOD))
    assert run.exit_code == 0
    assert "--workers applies to NDJSON output" in run.stderr
    assert len(orjson.loads(run.stdout_bytes)["events"]) == len(_expected_events(GOOD))


def test_workers_skip_duplicates_within_a_block_like_one_process():
    data = ndjson(GOOD + GOOD[:2])
    one = run_cli(["dry-run", "--format", "ndjson", "-"], input=data)
    two = run_cli(["dry-run", "--format", "ndjson", "--workers", "2", "-"], input=data)
    assert two.stdout_bytes == one.stdout_bytes and two.lines() == _expected_events(GOOD)
    assert "2 duplicates" in two.stderr


def test_a_text_file_that_happens_to_start_with_magic_bytes_is_read_as_text(tmp_path):
    for magic in (b"\x1f\x8b", b"(\xb5/\xfd"):
        path = tmp_path / "odd.ndjson"
        path.write_bytes(magic + b"\n" + ndjson(GOOD))
        rejects = tmp_path / "r.ndjson"
        run = run_cli(["dry-run", "--format", "ndjson", "--rejects", str(rejects), str(path)])
        assert run.lines() == _expected_events(GOOD)
        [record] = _rejects(rejects)
        assert record["line"] == 1


def test_a_gzip_file_corrupt_in_the_middle_keeps_the_lines_before_the_damage(tmp_path):
    blob = bytearray(gzip.compress(ndjson(list(events(2000, seed=9)))))
    blob[len(blob) // 2: len(blob) // 2 + 64] = b"\xff" * 64
    path = tmp_path / "bad.ndjson.gz"
    path.write_bytes(bytes(blob))
    rejects = tmp_path / "r.ndjson"
    run = run_cli(["dry-run", "--format", "ndjson", "--no-dedupe", "--rejects", str(rejects), str(path)])
    assert run.exit_code == 0 and len(run.lines()) > 100
    assert any("gzip" in r["reason"] for r in _rejects(rejects))


@pytest.mark.parametrize("fmt", ["ndjson", "json", "rich"])
def test_an_event_nested_as_deep_as_a_line_can_be_goes_out_in_every_view(tmp_path, fmt):
    """1020 levels of properties: deeper than orjson writes (254) and than Python's json module reads in the
    rich view; the event goes out whole, written as JSON.stringify writes it."""
    properties = b'{"n":[' * 510 + b"1" + b"]}" * 510
    line = (b'{"type":"track","event":"Deep","userId":"u","timestamp":"2024-01-01T00:00:00.000Z","properties":'
            + properties + b"}")
    (tmp_path / "in.ndjson").write_bytes(line + b"\n")
    run = run_cli(["dry-run", "--format", fmt, str(tmp_path / "in.ndjson")])
    assert run.exit_code == 0, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    if fmt == "ndjson":
        assert run.stdout_bytes == (b'{"kind":"custom","key":"Deep","contextKeys":{"user":"u"},"creationDate":'
                                    b'1704067200000,"data":' + properties + b"}\n")
    else:
        assert properties.decode()[-40:] in run.stdout.replace("\n", "").replace(" ", "")
