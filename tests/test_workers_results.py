"""What a --workers process hands back survives the trip: summary parts and rejected outcomes pickle to
equal objects (they define their own compact pickling)."""

from __future__ import annotations

import pickle
from pathlib import Path

from ld_segment_cli.config import load_destination
from ld_segment_cli.pipeline import Engine, map_block
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
