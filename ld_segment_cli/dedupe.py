"""Remembering which messageIds a run has seen, exactly, in about 16 bytes per distinct id.

A Python set of a million strings costs ~100 MB; this open-addressing table of 64-bit hashes keeps the
dry-run and send within their memory budget on exports of millions of events."""

from __future__ import annotations

from array import array

_EMPTY = 0
_MASK64 = (1 << 64) - 1


def id_hash(message_id: str) -> int:
    """A non-zero 64-bit key for a messageId. Python's str hash is salted per process; forked workers
    inherit the salt, so every process of one run agrees. Two distinct ids collide with probability
    ~n²/2⁶⁵ (about 3 in 100 million for a million ids)."""
    return (hash(message_id) & _MASK64) or 1


class SeenIds:
    """A set of 64-bit keys (never 0): 64 open-addressing tables with linear probing, each grown at half load
    on its own, so growing never holds two copies of the whole set (peak memory stays ~16 bytes per id)."""

    __slots__ = ("_masks", "_shards", "_sizes", "count")

    SHARD_BITS = 6

    def __init__(self, capacity: int = 1 << 16) -> None:
        shards = 1 << self.SHARD_BITS
        size = 1
        while size * shards < capacity:
            size <<= 1
        self._shards = [array("Q", bytes(8 * size)) for _ in range(shards)]
        self._masks = [size - 1] * shards
        self._sizes = [0] * shards
        self.count = 0

    def add(self, key: int) -> bool:
        """Insert key; True when it was new, False when it had been seen before."""
        shard = key & 63
        slots = self._shards[shard]
        mask = self._masks[shard]
        i = (key >> 6) & mask
        while True:
            current = slots[i]
            if current == _EMPTY:
                break
            if current == key:
                return False
            i = (i + 1) & mask
        slots[i] = key
        self.count += 1
        n = self._sizes[shard] = self._sizes[shard] + 1
        if n * 2 > mask:
            self._grow(shard)
        return True

    def add_all_if_new(self, keys: array[int]) -> bool:
        """Insert distinct keys if none is present; False (and nothing inserted) when one is."""
        shards = self._shards
        masks = self._masks
        for key in keys:
            shard = key & 63
            slots = shards[shard]
            mask = masks[shard]
            i = (key >> 6) & mask
            while True:
                current = slots[i]
                if current == _EMPTY:
                    break
                if current == key:
                    return False
                i = (i + 1) & mask
        add = self.add
        for key in keys:
            add(key)
        return True

    def __contains__(self, key: int) -> bool:
        shard = key & 63
        slots = self._shards[shard]
        mask = self._masks[shard]
        i = (key >> 6) & mask
        while True:
            current = slots[i]
            if current == _EMPTY:
                return False
            if current == key:
                return True
            i = (i + 1) & mask

    def __len__(self) -> int:
        return self.count

    def _grow(self, shard: int) -> None:
        old = self._shards[shard]
        size = (self._masks[shard] + 1) * 2
        slots = array("Q", bytes(8 * size))
        mask = size - 1
        for key in old:
            if key:
                i = (key >> 6) & mask
                while slots[i]:
                    i = (i + 1) & mask
                slots[i] = key
        self._shards[shard] = slots
        self._masks[shard] = mask
