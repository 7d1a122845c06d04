"""The messageId table: exact membership across growth, in every shard."""

from __future__ import annotations

import random

from ld_segment_cli.dedupe import SeenIds, id_hash


def test_every_key_is_new_once_and_seen_afterwards_across_growth():
    rnd = random.Random(5)
    keys = [rnd.getrandbits(64) or 1 for _ in range(50_000)]
    seen = SeenIds(capacity=16)
    assert all(seen.add(k) for k in keys)
    assert not any(seen.add(k) for k in keys)
    assert len(seen) == len(keys) and all(k in seen for k in keys)
    assert sum((rnd.getrandbits(64) or 1) in seen for _ in range(10_000)) == 0


def test_keys_that_share_low_bits_still_stay_distinct():
    seen = SeenIds(capacity=16)
    keys = [(i << 6) | 5 for i in range(1, 5000)] + [(i << 20) | 5 for i in range(1, 5000)]
    assert all(seen.add(k) for k in keys)
    assert not seen.add(keys[123])


def test_message_id_hash_is_never_zero_and_stable_within_a_run():
    assert id_hash("ajs-1") == id_hash("ajs-1") != 0


def test_add_all_if_new_inserts_all_or_nothing():
    from array import array

    seen = SeenIds(capacity=16)
    assert seen.add_all_if_new(array("Q", [11, 22, 33]))
    assert not seen.add_all_if_new(array("Q", [44, 22, 55]))
    assert 44 not in seen and 55 not in seen and len(seen) == 3
