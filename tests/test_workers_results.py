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
