"""What a --workers process hands back survives the trip: summary parts and rejected outcomes pickle to
equal objects (they define their own compact pickling)."""

from __future__ import annotations

import pickle
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
import pytest

from ld_segment_cli.config import load_destination
from ld_segment_cli.pipeline import Engine, Summary, map_block
from ld_segment_cli.sources import Source, read_blocks

SAMPLES = Path(__file__).resolve().parent.parent / "sample_events"


def test_a_block_result_pickles_to_an_equal_result():
    engine = Engine(load_destination(None), dedupe=True)
    path = SAMPLES / "bad_lines.ndjson"
    results = [map_block(engine, block) for block in read_blocks(Source(path.name, path))]
    assert any(rejected for _, rejected, _, _ in results)  # the file holds rejects: outcomes travel too
    for out, rejected, part, stopped in results:
        again = pickle.loads(pickle.dumps((out, rejected, part, stopped), protocol=pickle.HIGHEST_PROTOCOL))
        assert again == (out, rejected, part, stopped)
        assert again[2].to_dict() == part.to_dict()


def test_a_span_that_cannot_be_read_again_is_a_read_failure_not_a_crash(tmp_path):
    """A worker reads its block again from the file; if the file shrank meanwhile, the block's lines become
    one reject naming where reading stopped, and the run goes on."""
    path = tmp_path / "in.ndjson"
    path.write_bytes(b'{"type":"track","event":"A","userId":"u","timestamp":"2024-01-01T00:00:00Z"}\n' * 50)
    (block,) = [b for b in read_blocks(Source(path.name, path), keep_text=False)]
    path.write_bytes(b"")
    out, rejected, part, stopped = map_block(Engine(load_destination(None)), block)
    assert out == [] and stopped is None
    assert [r.reason for o in rejected for r in o.rejects] == [
        "read error after line 0: in.ndjson is shorter than when it was read: it changed during the run"
        .replace("in.ndjson", str(path.resolve()))
    ]
    assert part.rejected_lines == 1


def _whole(results: Iterable[Any]) -> tuple[bytes, list[Any], dict[str, Any]]:
    """Results block by block as one run: the events, the rejects (line, reasons), the summary."""
    events, rejects, summary = [], [], Summary()
    for out, rejected, part, _ in results:
        events += [b"\n".join(out)] if out else []
        rejects += [(o.line, [r.reason for r in o.rejects]) for o in rejected]
        summary.merge(part)
    return b"\n".join(events), rejects, summary.to_dict()


@pytest.mark.parametrize(("workers", "in_flight"), [(2, 12), (2, 1), (3, 1)])
def test_parallel_blocks_equal_one_process_whoever_maps_them(tmp_path, monkeypatch, workers, in_flight):
    """Blocks mapped by forked workers and by this process (when the workers hold IN_FLIGHT blocks each: one
    forces it often), found by probing (their lines counted where they are mapped), with messageIds repeated
    across blocks and a line longer than a probe: the results, in input order, are one process's."""
    from gen_events import events

    from ld_segment_cli import sources
    from ld_segment_cli import workers as workers_module

    monkeypatch.setattr(sources, "READ_BUFFER", 1 << 12)  # many small blocks
    monkeypatch.setattr(sources, "PROBE_BYTES", 1 << 10)
    monkeypatch.setattr(workers_module, "IN_FLIGHT", in_flight)
    evs = list(events(600, seed=21))
    lines = [orjson.dumps(e) for e in evs] + [b"{broken"] + [orjson.dumps(e) for e in evs[100:130]]
    long_line = orjson.dumps({**evs[5], "messageId": "long", "properties": {"pad": "x" * 5000}})
    lines = lines[:300] + lines[-20:] + [b"", b"[1]"] + lines[300:450] + [long_line] + lines[450:]
    path = tmp_path / "in.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")  # duplicates, early and late; the long line ends the probing
    destination = load_destination(None)
    engine = Engine(destination, dedupe=True)
    expected = _whole(map_block(engine, block) for block in read_blocks(Source(path.name, path)))
    blocks = list(read_blocks(Source(path.name, path), keep_text=False))
    assert len(blocks) > 20 and blocks[1].follows and not blocks[-1].follows
    got = _whole(workers_module.map_parallel(Engine(destination, dedupe=True), blocks, workers))
    assert got == expected
    reasons = dict(got[1])
    assert reasons[322] == ["the line is an array, not a JSON object"]  # after 320 lines and a blank one
    assert reasons[624][0].startswith("invalid JSON")  # past the long line: read in order from there
