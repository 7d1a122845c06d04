"""Remembering which messageIds a run has seen, exactly.

The first SMALL_IDS ids go into a Python set of their 64-bit hashes (~70 bytes per id, tested and filled at C
speed). Beyond that the set moves, once, into open-addressing tables of 16 bytes per id, probed in Python
(~0.5 µs more per event): a Python set of a million strings would cost ~100 MB, and the dry-run and send keep
within their memory budget on exports of millions of events."""

from __future__ import annotations

from array import array
from typing import Final

_EMPTY = 0
MASK64 = (1 << 64) - 1
_GONE = MASK64  # a slot whose key was taken back: probing goes on past it, as past any other key
SMALL_IDS: Final = 1 << 18  # ids kept in the set: ~18 MB at most, then the compact tables


def id_hash(message_id: str) -> int:
    """A non-zero 64-bit key for a messageId. Python's str hash is salted per process; forked workers
    inherit the salt, so every process of one run agrees. Two distinct ids collide with probability
    ~n²/2⁶⁵ (about 3 in 100 million for a million ids)."""
    return hash(message_id) & MASK64 or 1  # str hashes are never -1, so never _GONE


class SeenIds:
    """A set of 64-bit keys (never 0). Up to `small_limit` keys, a Python set; then 64 open-addressing tables
    with linear probing, each grown at half load on its own, so growing never holds two copies of the whole
    set (peak memory stays ~16 bytes per id)."""

    __slots__ = ("_capacity", "_limit", "_masks", "_shards", "_sizes", "_small", "count")

    SHARD_BITS = 6

    def __init__(self, capacity: int = 1 << 16, small_limit: int = SMALL_IDS) -> None:
        self._capacity = capacity
        self._limit = small_limit
        self._small: set[int] | None = set() if small_limit > 0 else None
        self._shards: list[array[int]] = []
        self._masks: list[int] = []
        self._sizes: list[int] = []
        self.count = 0
        if self._small is None:
            self._allocate(capacity)

    def _allocate(self, capacity: int) -> None:
        shards = 1 << self.SHARD_BITS
        size = 1
        while size * shards < capacity:
            size <<= 1
        self._shards = [array("Q", bytes(8 * size)) for _ in range(shards)]
        self._masks = [size - 1] * shards
        self._sizes = [0] * shards

    def _leave_the_set(self) -> None:
        """Move the set's keys into the compact tables, sized for the expected ids, or with room for twice
        these at half load when that is more."""
        assert self._small is not None
        keys = array("Q", self._small)  # 8 bytes per id: the set (~70) is freed before the tables are made
        self._small = None
        self._allocate(max(self._capacity, 4 * len(keys)))
        self.count = 0
        for key in keys:
            self.add(key)

    def add(self, key: int) -> bool:
        """Insert key; True when it was new, False when it had been seen before."""
        small = self._small
        if small is not None:
            if key in small:
                return False
            small.add(key)
            self.settle()
            return True
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

    def open_set(self) -> set[int] | None:
        """The set itself while the ids are kept in one, for a caller that tests and adds `id_hash` keys
        inline (map_block) and calls settle() when it is done; None once the compact tables hold them."""
        return self._small

    def settle(self) -> None:
        """Move into the compact tables once the set holds its limit of keys (whoever added them)."""
        if self._small is not None and len(self._small) >= self._limit:
            self._leave_the_set()

    def add_id(self, message_id: str) -> bool:
        """add(id_hash(message_id)). (map_block tests the set itself, hash inlined: see open_set.)"""
        return self.add(id_hash(message_id))

    def add_all_if_new(self, keys: array[int]) -> bool:
        """Insert keys (none 0) if none was present and none repeats; else take back what this call inserted
        and return False. One probe per key: duplicates are rare, so the undo path is the slow one."""
        small = self._small
        if small is not None:
            if not small.isdisjoint(keys) or len(set(keys)) != len(keys):
                return False
            small.update(keys)
            self.settle()
            return True
        shards = self._shards
        masks = self._masks
        sizes = self._sizes
        for n, key in enumerate(keys):
            shard = key & 63
            slots = shards[shard]
            mask = masks[shard]
            i = (key >> 6) & mask
            while True:
                current = slots[i]
                if current == _EMPTY:
                    break
                if current == key:
                    self._take_back(keys[:n])
                    return False
                i = (i + 1) & mask
            slots[i] = key
            size = sizes[shard] = sizes[shard] + 1
            if size * 2 > mask:
                self._grow(shard)
        self.count += len(keys)
        return True

    def _take_back(self, keys: array[int]) -> None:
        for key in keys:
            slots, i = self._slot(key)
            slots[i] = _GONE  # sizes keep counting it: the slot stays occupied until the shard grows

    def __contains__(self, key: int) -> bool:
        if self._small is not None:
            return key in self._small
        slots, i = self._slot(key)
        return slots[i] == key

    def _slot(self, key: int) -> tuple[array[int], int]:
        """The key's shard and the index holding it, or the empty slot where its probe ends. (add and
        add_all_if_new inline this probe: they run for every event.)"""
        shard = key & 63
        slots = self._shards[shard]
        mask = self._masks[shard]
        i = (key >> 6) & mask
        while True:
            current = slots[i]
            if current in (_EMPTY, key):
                return slots, i
            i = (i + 1) & mask

    def __len__(self) -> int:
        return len(self._small) if self._small is not None else self.count

    def _grow(self, shard: int) -> None:
        old = self._shards[shard]
        size = (self._masks[shard] + 1) * 2
        slots = array("Q", bytes(8 * size))
        mask = size - 1
        kept = 0
        for key in old:
            if key and key != _GONE:
                i = (key >> 6) & mask
                while slots[i]:
                    i = (i + 1) & mask
                slots[i] = key
                kept += 1
        self._shards[shard] = slots
        self._masks[shard] = mask
        self._sizes[shard] = kept
