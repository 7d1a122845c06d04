"""Checkpoints and stopping: a run killed with SIGKILL and resumed delivers every event exactly once (as the
receiver counts after payload-ID de-duplication), Ctrl-C saves the checkpoint and exits 130, the checkpoint
only advances over acknowledged batches in input order, and a checkpoint of another run is refused."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest
from conftest import ROOT, run_cli
from fake_launchdarkly import FakeLaunchDarkly, Fault, segment_export

from ld_segment_cli.checkpoint import CheckpointFile, Identity, write_atomic

CLIENT_ID = "5f0c8d3e2a1b4c0012345678"
MAIN = "from ld_segment_cli import cli\ncli.main()\n"
DEADLINE = 30.0


def start_send(fake: FakeLaunchDarkly, *args: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LD_")}
    env["PYTHONPATH"] = str(ROOT)
    cmd = [sys.executable, "-c", MAIN, "send", "--client-id", CLIENT_ID, "--events-url", fake.url,
           "--retry-base", "0.01", "--retry-cap", "0.05", "--timeout", "10", *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def finish(proc: subprocess.Popen[bytes]) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"send did not finish in {DEADLINE} s: {err.decode()}")
    return proc.returncode, err.decode()


def wait_until(condition, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        time.sleep(0.01)


def expected_events(path: Path) -> list[bytes]:
    result = run_cli(["dry-run", "--format", "ndjson", str(path)])
    return sorted(orjson.dumps(orjson.loads(line), option=orjson.OPT_SORT_KEYS)
                  for line in result.stdout_bytes.splitlines() if line)


def received(fake: FakeLaunchDarkly) -> list[bytes]:
    return sorted(orjson.dumps(e, option=orjson.OPT_SORT_KEYS) for e in fake.events())


def checkpoint_line(path: Path) -> tuple[int, int, bool]:
    data = orjson.loads(path.read_bytes())
    return data["position"]["source_index"], data["position"]["line"], data["complete"]


@pytest.fixture
def slow_fake():
    """Answers every request after 15 ms, so a run of a few thousand events takes a second or two."""
    with FakeLaunchDarkly(timeout=90) as server:
        server.inject(Fault(status=202, accept=True, delay=0.015, times=10**6))
        yield server


@pytest.fixture
def export(tmp_path):
    path = tmp_path / "export.ndjson"
    path.write_bytes(segment_export(4000, seed=3, bad_every=97))
    return path


def reconciliation_adds_up(stderr: str) -> bool:
    """`read N = sent S + filtered F + rejected R (parse P, map M, deliver D)[ + not sent U]` holds."""
    [line] = [ln.strip() for ln in stderr.splitlines() if ln.strip().startswith("read ")]
    numbers = [int(w.strip("(),")) for w in line.split() if w.strip("(),").isdigit()]
    read, sent, filtered, rejected, parse, mapped, deliver, *unsent = numbers
    return read == sent + filtered + rejected + sum(unsent) and rejected == parse + mapped + deliver


def parse_reject_lines(rejects: Path) -> list[int]:
    return [r["line"] for r in map(orjson.loads, rejects.read_bytes().splitlines()) if r["stage"] == "parse"]


def test_sigkill_then_resume_delivers_every_event_exactly_once(slow_fake, export, tmp_path):
    ck, rejects = tmp_path / "ck.json", tmp_path / "rejects.ndjson"
    args = [str(export), "--batch-size", "20", "--concurrency", "2", "--checkpoint", str(ck),
            "--rejects", str(rejects), "--checkpoint-interval", "0.2", "--min-delivery-rate", "0.9"]
    proc = start_send(slow_fake, *args)
    wait_until(lambda: ck.exists() and slow_fake.event_count >= 800)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=DEADLINE)
    _, line, complete = checkpoint_line(ck)
    assert 0 < line < 4000 and not complete
    code, err = finish(start_send(slow_fake, *args))
    assert code == 0, err
    assert "resuming from" in err
    assert received(slow_fake) == expected_events(export)  # every event once, after payload-ID de-dup
    assert parse_reject_lines(rejects) == list(range(97, 4001, 97))  # each rejected line recorded once
    assert checkpoint_line(ck) == (0, 4000, True)


def test_ctrl_c_saves_the_checkpoint_exits_130_and_the_rest_follows_on_resume(slow_fake, export, tmp_path):
    ck, rejects = tmp_path / "ck.json", tmp_path / "rejects.ndjson"
    args = [str(export), "--batch-size", "20", "--concurrency", "2", "--checkpoint", str(ck),
            "--rejects", str(rejects), "--min-delivery-rate", "0.9"]
    proc = start_send(slow_fake, *args)
    wait_until(lambda: slow_fake.event_count >= 500)
    proc.send_signal(signal.SIGINT)
    code, err = finish(proc)
    assert code == 130, err
    assert "interrupted" in err and "resume" in err
    _, line, complete = checkpoint_line(ck)
    assert 0 < line < 4000 and not complete
    assert not [r for r in map(orjson.loads, rejects.read_bytes().splitlines()) if r["stage"] == "deliver"]
    assert reconciliation_adds_up(err)
    code, err = finish(start_send(slow_fake, *args))
    assert code == 0, err
    assert received(slow_fake) == expected_events(export)
    assert parse_reject_lines(rejects) == list(range(97, 4001, 97))


def test_checkpoint_advances_only_over_acknowledged_batches_in_input_order(tmp_path):
    path = tmp_path / "e.ndjson"
    path.write_bytes(segment_export(1000, seed=5))
    slow_line = next(orjson.loads(ln)["properties"]["n"] for ln in path.read_bytes().splitlines()[200:]
                     if b'"event"' in ln)
    ck = tmp_path / "ck.json"
    seen: list[tuple[float, int]] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            with contextlib.suppress(FileNotFoundError):  # a torn checkpoint would fail the test
                seen.append((time.monotonic(), checkpoint_line(ck)[1]))
            time.sleep(0.005)

    def slow_batch(events: list[dict]) -> bool:
        return any(e.get("data", {}).get("n") == slow_line for e in events)

    with FakeLaunchDarkly(timeout=60) as fake:
        fake.inject(Fault(status=202, accept=True, delay=1.5, match=slow_batch))
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        code, err = finish(start_send(fake, str(path), "--batch-size", "10", "--concurrency", "4",
                                      "--checkpoint", str(ck), "--checkpoint-interval", "0"))
        stop.set()
        watcher.join(5)
        assert code == 0, err
        [slow] = [r for r in fake.requests if r.events and slow_batch(r.events)]
        acked_at = slow.at + 1.5
        later = [r for r in fake.requests if r.at > slow.at + 0.1 and r.status == 202]
        assert later, "batches after the slow one were acknowledged while it was pending"
    before = [line for t, line in seen if t < acked_at - 0.1]
    assert before and max(before) < slow_line  # never past the batch that was not acknowledged yet
    assert max(before) > 0
    assert seen[-1][1] == 1000


def test_refused_credentials_leave_a_checkpoint_that_a_corrected_run_resumes(tmp_path):
    path = tmp_path / "e.ndjson"
    path.write_bytes(segment_export(600, seed=9))
    target = [orjson.loads(ln)["properties"]["n"] for ln in path.read_bytes().splitlines()
              if b'"event"' in ln][300]
    ck = tmp_path / "ck.json"
    args = [str(path), "--batch-size", "25", "--concurrency", "1", "--checkpoint", str(ck)]
    with FakeLaunchDarkly(timeout=60) as fake:
        fake.inject(Fault(status=401, times=10**6,
                          match=lambda evs: any(e.get("data", {}).get("n") == target for e in evs)))
        code, err = finish(start_send(fake, *args))
        assert code == 3, err
        assert "client-side ID or events host is wrong" in err
        _, line, complete = checkpoint_line(ck)
        assert 0 < line < target and not complete
        fake.state.faults.clear()
        code, err = finish(start_send(fake, *args))
        assert code == 0, err
        assert received(fake) == expected_events(path)


def test_completed_checkpoint_sends_nothing_more(tmp_path):
    path = tmp_path / "e.ndjson"
    path.write_bytes(segment_export(50))
    ck = tmp_path / "ck.json"
    with FakeLaunchDarkly(timeout=60) as fake:
        assert finish(start_send(fake, str(path), "--checkpoint", str(ck)))[0] == 0
        requests = len(fake.requests)
        code, err = finish(start_send(fake, str(path), "--checkpoint", str(ck)))
        assert code == 0 and "nothing to send" in err
        assert len(fake.requests) == requests
        code, err = finish(start_send(fake, str(path), "--checkpoint", str(ck), "--restart"))
        assert code == 0 and len(fake.requests) > requests
        assert fake.duplicates >= 1  # same mappings and positions: the same payload IDs, discarded


@pytest.mark.parametrize("change", ["mappings", "input", "batch-size"])
def test_checkpoint_of_another_run_is_refused_unless_restart(tmp_path, change):
    path = tmp_path / "e.ndjson"
    path.write_bytes(segment_export(50))
    ck = tmp_path / "ck.json"
    mappings = tmp_path / "m.yaml"
    mappings.write_text('version: 1\nmappings:\n  - name: T\n    trigger: type = "track"\n    action: trackEvent\n')
    with FakeLaunchDarkly(timeout=60) as fake:
        args = [str(path), "--checkpoint", str(ck), "--batch-size", "10"]
        assert finish(start_send(fake, *args))[0] == 0
        if change == "mappings":
            args += ["-m", str(mappings)]
            expected = "different mappings file"
        elif change == "input":
            with path.open("ab") as f:
                f.write(segment_export(1, seed=2))
            expected = "changed since"
        else:
            args[-1] = "20"
            expected = "--batch-size 10"
        code, err = finish(start_send(fake, *args))
        assert code == 2 and "belongs to another run" in err and expected in err.replace("\n", " ")
        assert "--restart" in err
        code, err = finish(start_send(fake, *args, "--restart"))
        assert code == 0, err


def test_checkpoint_is_replaced_atomically_without_leftovers(tmp_path):
    target = tmp_path / "ck.json"
    write_atomic(target, b"one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["ck.json"]


def test_checkpoint_round_trips_and_names_its_position(tmp_path):
    from ld_segment_cli.checkpoint import Checkpoint

    identity = Identity.of("m.yaml", "ab" * 32, [("a.ndjson", 10), ("b.ndjson", 20)], {"batch-size": 5})
    store = CheckpointFile(tmp_path / "ck.json", "/tmp/r.ndjson")
    store.save(Checkpoint(identity, 1, 42, False, "/tmp/r.ndjson", 99, 1234))
    loaded = store.load()
    assert loaded is not None
    assert (loaded.identity, loaded.source_index, loaded.line, loaded.rejects_offset, loaded.events_sent) == \
        (identity, 1, 42, 99, 1234)
    assert loaded.where == "b.ndjson:42"


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    from ld_segment_cli.errors import UserError

    bad = tmp_path / "ck.json"
    bad.write_bytes(b"{not json")
    with pytest.raises(UserError, match="not a usable checkpoint"):
        CheckpointFile(bad).load()
