"""The messageId table: exact membership across growth, in the set and in the compact table."""

from __future__ import annotations

import random

from ld_segment_cli.dedupe import SeenIds, id_hash


def test_every_key_is_new_once_and_seen_afterwards_across_growth():
    rnd = random.Random(5)
    keys = [rnd.getrandbits(64) or 1 for _ in range(50_000)]
    seen = SeenIds(capacity=16, small_limit=0)
    assert all(seen.add(k) for k in keys)
    assert not any(seen.add(k) for k in keys)
    assert len(seen) == len(keys) and all(k in seen for k in keys)
    assert sum((rnd.getrandbits(64) or 1) in seen for _ in range(10_000)) == 0


def test_keys_that_share_low_bits_still_stay_distinct():
    seen = SeenIds(capacity=16, small_limit=0)
    keys = [(i << 12) | 5 for i in range(1, 5000)] + [(i << 40) | 5 for i in range(1, 5000)]  # one probe run
    assert all(seen.add(k) for k in keys)
    assert not seen.add(keys[123])


def test_message_id_hash_is_never_zero_and_stable_within_a_run():
    assert id_hash("ajs-1") == id_hash("ajs-1") != 0


def test_add_all_if_new_inserts_all_or_nothing():
    from array import array

    seen = SeenIds(capacity=16, small_limit=0)
    assert seen.add_all_if_new(array("Q", [11, 22, 33]))
    assert not seen.add_all_if_new(array("Q", [44, 22, 55]))
    assert 44 not in seen and 55 not in seen and len(seen) == 3


def test_add_all_if_new_takes_back_everything_when_a_key_repeats_even_across_growth():
    from array import array

    rnd = random.Random(8)
    seen = SeenIds(capacity=16, small_limit=0)
    before = [rnd.getrandbits(64) or 1 for _ in range(1000)]
    assert seen.add_all_if_new(array("Q", before))
    block = [rnd.getrandbits(64) or 1 for _ in range(20_000)]  # grows the table first
    assert not seen.add_all_if_new(array("Q", [*block, block[7]]))  # repeats within the call
    assert len(seen) == 1000 and not any(k in seen for k in block) and all(k in seen for k in before)
    assert seen.add_all_if_new(array("Q", block))  # taken-back slots do not hide anything
    assert len(seen) == 21_000 and all(k in seen for k in block + before)
    assert not seen.add(block[0]) and seen.add(12345)


def test_a_table_sized_for_the_expected_events_does_not_grow_on_the_way():
    from ld_segment_cli.config import load_destination
    from ld_segment_cli.pipeline import Engine

    engine = Engine(load_destination(None), dedupe=True)
    engine.expect(50_000)
    assert engine.seen is not None and engine.seen._capacity == 100_000
    seen = SeenIds(capacity=engine.seen._capacity, small_limit=1000)
    assert all(seen.add(id_hash(f"ajs-{i}")) for i in range(1000))
    mask = seen._mask  # the compact table, sized when the set moved into it
    assert mask > 0 and all(seen.add(id_hash(f"ajs-{i}")) for i in range(1000, 50_000))
    assert seen._mask == mask and len(seen) == 50_000
    engine = Engine(load_destination(None), dedupe=True)
    engine.expect(50_000, small_ids=0)  # what send asks for: the compact tables from the start
    assert engine.seen is not None and engine.seen._small is None and engine.seen._mask + 1 >= 100_000


def test_the_set_moves_into_the_compact_tables_at_its_limit_and_forgets_nothing():
    from array import array

    rnd = random.Random(11)
    keys = [rnd.getrandbits(64) or 1 for _ in range(3000)]
    seen = SeenIds(capacity=16, small_limit=1000)
    assert all(seen.add(k) for k in keys[:600])
    assert seen._small is not None and not seen._slots  # still the set
    assert not seen.add_all_if_new(array("Q", [keys[900], keys[900]]))  # repeats within the call
    assert not seen.add_all_if_new(array("Q", [keys[700], keys[5]]))  # one seen before: nothing inserted
    assert keys[700] not in seen
    assert seen.add_all_if_new(array("Q", keys[600:1500]))  # crosses the limit inside the call
    assert seen._small is None and len(seen) == 1500
    assert all(seen.add_id(f"m{i}") for i in range(500)) and not seen.add_id("m7")
    assert not any(seen.add(k) for k in keys[:1500]) and all(seen.add(k) for k in keys[1500:])
    assert len(seen) == 3500


def test_message_ids_are_seen_alike_in_the_set_and_in_the_compact_tables():
    ids = [f"ajs-{i % 700}" for i in range(2000)]  # each id three times or so
    small, compact = SeenIds(), SeenIds(small_limit=0)
    assert [small.add_id(m) for m in ids] == [compact.add_id(m) for m in ids] == [i < 700 for i in range(2000)]
    assert all(id_hash(m) in small and id_hash(m) in compact for m in ids)
