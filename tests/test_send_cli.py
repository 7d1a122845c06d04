"""`ld-segment send` and `ld-segment check` through the CLI, against a real HTTP server on 127.0.0.1: what
arrives equals what dry-run prints, every line is accounted for, faults lose and duplicate nothing, and the
exit codes of cli.md."""

from __future__ import annotations

import socket
import time

import orjson
import pytest
from conftest import Run, stderr_of_cli
from fake_launchdarkly import FakeLaunchDarkly, Fault, segment_export
from typer.testing import CliRunner

CLIENT_ID = "5f0c8d3e2a1b4c0012345678"
FAST = ["--retry-base", "0.01", "--retry-cap", "0.05", "--timeout", "5"]


def app():
    from ld_segment_cli import cli

    return cli.app


def invoke(args: list[str], input: bytes | None = None, env: dict[str, str] | None = None) -> Run:
    clean: dict[str, str | None] = {"LD_CLIENT_SIDE_ID": None, "LD_SEGMENT_MAPPINGS": None,
                                    "LD_SEGMENT_GOALS_URL": None, **(env or {})}
    result = CliRunner().invoke(app(), args, input=input, env=clean, catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr, result.stdout_bytes)


def send(fake: FakeLaunchDarkly, *args: str, input: bytes | None = None, env: dict[str, str] | None = None,
         client_id: str | None = CLIENT_ID) -> Run:
    ident = ["--client-id", client_id] if client_id else []
    return invoke(["send", *ident, "--events-url", fake.url, *FAST, *args], input=input, env=env)


def dry_run(*args: str, input: bytes | None = None) -> list[bytes]:
    result = invoke(["dry-run", "--format", "ndjson", *args], input=input)
    assert result.exit_code in (0, 1), result.stderr
    return [line for line in result.stdout_bytes.split(b"\n") if line]


def canonical(events: list[dict]) -> list[bytes]:
    return sorted(orjson.dumps(e, option=orjson.OPT_SORT_KEYS) for e in events)


def reconciliation(stderr: str) -> str:
    [line] = [ln.strip() for ln in stderr.splitlines() if ln.strip().startswith("read ")]
    return line


@pytest.fixture
def fake():
    with FakeLaunchDarkly(timeout=60) as server:
        yield server


@pytest.fixture
def export(tmp_path):
    path = tmp_path / "export.ndjson"
    path.write_bytes(segment_export(600, bad_every=50, unmappable_every=37))
    return path


# -- what arrives -----------------------------------------------------------------------------------------

def test_bytes_sent_equal_dry_run_lines_joined_as_a_json_array(fake, tmp_path):
    path = tmp_path / "small.ndjson"
    path.write_bytes(segment_export(40))
    result = send(fake, str(path))
    assert result.exit_code == 0, result.stderr
    [pid] = fake.payload_ids()
    assert fake.body(pid) == b"[" + b",".join(dry_run(str(path))) + b"]"
    assert fake.requests[0].path == f"/events/bulk/{CLIENT_ID}"


def test_every_event_dry_run_prints_arrives_once(fake, export):
    result = send(fake, str(export), "--batch-size", "25", "--min-delivery-rate", "0")
    assert result.exit_code == 0, result.stderr
    expected = dry_run(str(export))
    assert len(expected) > 300
    assert canonical(fake.events()) == canonical([orjson.loads(e) for e in expected])
    assert fake.duplicates == 0
    assert len(fake.requests) == -(-len(expected) // 25)


def _track_numbers(path, count: int) -> list[int]:
    """The line numbers of the first `count` mappable track events of an export (their data.n)."""
    found = []
    for line in path.read_bytes().splitlines():
        if line.startswith(b"{") and b'"type":"track"' in line and b'"event"' in line:
            found.append(orjson.loads(line)["properties"]["n"])
    return found[:count]


def test_summary_reconciles_every_line_read(fake, export, tmp_path):
    rejects = tmp_path / "rejects.ndjson"
    refused = set(_track_numbers(export, 40)[-3:])
    fake.refuse = lambda e: e.get("data", {}).get("n") in refused
    result = send(fake, str(export), "--rejects", str(rejects), "--batch-size", "64")
    assert result.exit_code == 1, result.stderr  # below the default --min-delivery-rate 1.0
    stages = [orjson.loads(line)["stage"] for line in rejects.read_bytes().splitlines()]
    assert (stages.count("parse"), stages.count("map"), stages.count("deliver")) == (12, 16, 3)
    lines = export.read_bytes().splitlines()
    sent = len(fake.events())  # one event per line with the presets
    filtered = sum(1 for ln in lines if b'"type":"page"' in ln)
    assert reconciliation(result.stderr) == (
        f"read 600 = sent {sent} + filtered {filtered} + rejected 31 (parse 12, map 16, deliver 3)")
    assert sent + filtered + 31 == 600
    assert "delivery rate" in result.stderr


def test_rejects_file_is_in_input_order_and_keeps_raw_lines(fake, export, tmp_path):
    rejects = tmp_path / "rejects.ndjson"
    target = _track_numbers(export, 5)[-1]
    fake.refuse = lambda e: e.get("data", {}).get("n") == target
    send(fake, str(export), "--rejects", str(rejects), "--batch-size", "10")
    records = [orjson.loads(line) for line in rejects.read_bytes().splitlines()]
    assert [r["line"] for r in records] == sorted(r["line"] for r in records)
    raw_lines = export.read_bytes().splitlines()
    for r in records:
        assert r["source"] == str(export)
        assert r["raw"].encode() == raw_lines[r["line"] - 1]
        assert set(r) == {"source", "line", "stage", "mapping", "reason", "raw"}
    [refused] = [r for r in records if r["stage"] == "deliver"]
    assert refused["line"] == target and "400" in refused["reason"]


def test_min_delivery_rate_below_the_observed_rate_exits_0(fake, export):
    result = send(fake, str(export), "--min-delivery-rate", "0.9")
    assert result.exit_code == 0, result.stderr


def test_stdin_is_read_when_no_input_is_given(fake):
    result = send(fake, input=segment_export(30))
    assert result.exit_code == 0, result.stderr
    assert canonical(fake.events()) == canonical([orjson.loads(e) for e in dry_run("-", input=segment_export(30))])


def test_where_filter_counts_excluded_lines_as_filtered(fake, tmp_path):
    path = tmp_path / "e.ndjson"
    path.write_bytes(segment_export(100))
    result = send(fake, str(path), "--where", 'type = "identify"')
    assert result.exit_code == 0, result.stderr
    assert fake.events() and all(e["kind"] == "alias" for e in fake.events())
    n = len(fake.events())
    assert reconciliation(result.stderr) == f"read 100 = sent {n} + filtered {100 - n} + rejected 0 " \
                                            "(parse 0, map 0, deliver 0)"


def test_no_gzip_sends_plain_bodies_and_batch_size_bounds_requests(fake, tmp_path):
    path = tmp_path / "e.ndjson"
    path.write_bytes(segment_export(100))
    n = len(dry_run(str(path)))
    result = send(fake, str(path), "--no-gzip", "--batch-size", "10")
    assert result.exit_code == 0, result.stderr
    assert all(not r.gzip and "content-encoding" not in r.headers for r in fake.requests)
    assert len(fake.requests) == -(-n // 10)
    assert all(len(orjson.loads(r.body)) <= 10 for r in fake.requests)


# -- faults end to end: nothing lost, nothing duplicated after payload-ID de-duplication -------------------

@pytest.mark.parametrize("fault", [
    Fault(status=500, times=3),
    Fault(status=429, retry_after="0.2", times=2),
    Fault(status=503, accept=True, times=3),
    Fault(drop=True, times=2),
    Fault(drop=True, accept=True, times=2),
    Fault(status=202, accept=True, delay=1.0, times=1),
], ids=["500", "429-retry-after", "accept-then-503", "dropped", "accept-then-drop", "slow"])
def test_faults_lose_nothing_and_duplicate_nothing(fake, tmp_path, fault):
    path = tmp_path / "e.ndjson"
    path.write_bytes(segment_export(300))
    fake.inject(fault)
    extra = ["--timeout", "0.5"] if fault.delay else []
    result = send(fake, str(path), "--batch-size", "20", *extra)
    assert result.exit_code == 0, result.stderr
    expected = [orjson.loads(e) for e in dry_run(str(path))]
    assert canonical(fake.events()) == canonical(expected)
    assert "deliver 0" in reconciliation(result.stderr)


def test_413_above_a_size_splits_batches_and_delivers_everything(fake, tmp_path):
    path = tmp_path / "e.ndjson"
    path.write_bytes(segment_export(200))
    fake.max_body = 4000
    result = send(fake, str(path), "--batch-size", "100")
    assert result.exit_code == 0, result.stderr
    assert canonical(fake.events()) == canonical([orjson.loads(e) for e in dry_run(str(path))])
    assert "413 splits" in result.stderr


def test_exhausted_attempts_put_the_events_in_rejects_with_stage_deliver(fake, tmp_path):
    path = tmp_path / "e.ndjson"
    path.write_bytes(segment_export(50))
    rejects = tmp_path / "r.ndjson"
    fake.inject(Fault(status=503, times=1000))
    result = send(fake, str(path), "--rejects", str(rejects), "--max-attempts", "2")
    assert result.exit_code == 1
    records = [orjson.loads(line) for line in rejects.read_bytes().splitlines()]
    assert records and {r["stage"] for r in records} == {"deliver"}
    assert records[0]["reason"] == "not delivered after 2 attempts; last answer: HTTP 503 Service Unavailable"
    assert len(fake.requests) == 2
    assert "delivery rate 0.00%" in result.stderr


@pytest.mark.parametrize("status", [401, 403, 404])
def test_refused_credentials_stop_at_once_with_exit_3(fake, tmp_path, status):
    path = tmp_path / "e.ndjson"
    path.write_bytes(segment_export(500))
    rejects = tmp_path / "r.ndjson"
    fake.status = status
    result = send(fake, str(path), "--batch-size", "10", "--concurrency", "1", "--rejects", str(rejects))
    assert result.exit_code == 3
    assert "client-side ID or events host is wrong" in result.stderr
    assert len(fake.requests) == 1
    records = [orjson.loads(line) for line in rejects.read_bytes().splitlines()]
    unsent = [r for r in records if r["stage"] == "deliver"]
    assert unsent and all(r["reason"].startswith("not sent: LaunchDarkly refused") for r in unsent)
    assert "not sent" in reconciliation(result.stderr)


# -- client-side ID, host and the LD3 check ----------------------------------------------------------------

def test_client_id_comes_from_the_environment(fake, tmp_path):
    path = tmp_path / "e.ndjson"
    path.write_bytes(segment_export(5))
    result = send(fake, str(path), client_id=None, env={"LD_CLIENT_SIDE_ID": "fromenv0000000000000000a"})
    assert result.exit_code == 0, result.stderr
    assert fake.requests[0].path == "/events/bulk/fromenv0000000000000000a"


def test_client_id_comes_from_the_mappings_settings(fake, tmp_path):
    mappings = tmp_path / "m.yaml"
    mappings.write_text('version: 1\nsettings:\n  client_side_id: fromsettings000000000000\nmappings:\n'
                        '  - name: Track\n    trigger: type = "track"\n    action: trackEvent\n')
    path = tmp_path / "e.ndjson"
    path.write_bytes(segment_export(5))
    result = send(fake, str(path), "-m", str(mappings), client_id=None)
    assert result.exit_code == 0, result.stderr
    assert fake.requests[0].path == "/events/bulk/fromsettings000000000000"
    flag = send(fake, str(path), "-m", str(mappings), client_id="fromflag0000000000000000")
    assert flag.exit_code == 0 and fake.requests[-1].path == "/events/bulk/fromflag0000000000000000"


def test_missing_client_id_is_a_usage_error(fake, tmp_path):
    path = tmp_path / "e.ndjson"
    path.write_bytes(segment_export(5))
    result = send(fake, str(path), client_id=None)
    assert result.exit_code == 2
    assert "no client-side ID" in result.stderr and not fake.requests


def test_server_side_sdk_key_is_refused_before_sending(fake, tmp_path):
    path = tmp_path / "e.ndjson"
    path.write_bytes(segment_export(5))
    result = send(fake, str(path), client_id="sdk-0123-4567")
    assert result.exit_code == 2 and "server-side SDK key" in result.stderr


def test_plain_http_to_a_remote_host_is_refused(tmp_path):
    path = tmp_path / "e.ndjson"
    path.write_bytes(segment_export(5))
    result = invoke(["send", "--client-id", CLIENT_ID, "--events-url", "http://192.0.2.1:80", str(path)])
    assert result.exit_code == 2 and "only for loopback" in result.stderr


def test_check_command_accepts_a_known_client_id(fake):
    fake.client_id = CLIENT_ID
    result = invoke(["check", "--client-id", CLIENT_ID, "--goals-url", fake.url + "/sdk/goals"])
    assert result.exit_code == 0, result.stderr
    assert "recognises the client-side ID" in result.stderr


def test_check_command_refuses_an_unknown_client_id_with_exit_3(fake):
    fake.client_id = CLIENT_ID
    result = invoke(["check", "--client-id", "0" * 24, "--goals-url", fake.url + "/sdk/goals"])
    assert result.exit_code == 3
    assert "does not recognise the client-side ID" in result.stderr and "404" in result.stderr


def test_check_offline_is_a_clear_error_not_an_invalid_id():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    result = invoke(["check", "--client-id", CLIENT_ID, "--goals-url", f"http://127.0.0.1:{port}/sdk/goals"])
    assert result.exit_code == 2
    assert "cannot reach 127.0.0.1" in result.stderr and "does not recognise" not in result.stderr


def test_check_is_skipped_for_a_custom_events_host():
    result = invoke(["check", "--client-id", CLIENT_ID, "--events-host", "events.example.com"])
    assert result.exit_code == 0 and "check skipped" in result.stderr


def test_send_check_refuses_before_sending_anything(fake, tmp_path):
    path = tmp_path / "e.ndjson"
    path.write_bytes(segment_export(5))
    fake.client_id = CLIENT_ID
    result = send(fake, str(path), "--check", "--goals-url", fake.url + "/sdk/goals", client_id="1" * 24)
    assert result.exit_code == 3 and not fake.requests


def test_rate_limits_events_per_second(fake, tmp_path):
    path = tmp_path / "e.ndjson"
    path.write_bytes(segment_export(300))
    n = len(dry_run(str(path)))
    started = time.monotonic()
    result = send(fake, str(path), "--rate", "1000", "--batch-size", "50")
    assert result.exit_code == 0, result.stderr
    ats = [r.at for r in fake.requests]
    assert ats[-1] - ats[0] >= (n - 50) / 1000 - 0.02  # the last batch may start (n - 50) / rate after the first
    assert time.monotonic() - started >= (n - 50) / 1000 - 0.02


def _stderr_of(args: list[str], tty: bool) -> tuple[int, str]:
    return stderr_of_cli(["send", *args], tty)


@pytest.mark.parametrize("tty", [True, False], ids=["terminal", "pipe"])
def test_progress_bar_only_on_a_terminal_and_a_summary_in_all_cases(fake, tmp_path, tty):
    path = tmp_path / "e.ndjson"
    path.write_bytes(segment_export(2000))
    fake.inject(Fault(status=202, accept=True, delay=0.02, times=10**6))
    code, err = _stderr_of(["--client-id", CLIENT_ID, "--events-url", fake.url, str(path), "--batch-size", "50",
                            "--concurrency", "1"], tty)
    assert code == 0, err
    assert ("events/s" in err and "━" in err) is tty  # the bar: bytes done, counts and events per second
    assert "read 2000 = sent" in err and "delivery rate" in err
