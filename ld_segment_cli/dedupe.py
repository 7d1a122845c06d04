"""Remembering which messageIds a run has seen, exactly.

The first SMALL_IDS ids go into a Python set of their 64-bit hashes (~70 bytes per id, tested and filled at C
speed). Beyond that the set moves, once, into one open-addressing table of 16 bytes per id (at half load),
probed in Python (~0.3 µs per id): a Python set of a million strings would cost ~100 MB, and the dry-run and
send keep within their memory budget on exports of millions of events."""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import Final

MASK64 = (1 << 64) - 1
_GONE = MASK64  # a slot whose key was taken back: probing goes on past it, as past any other key
SMALL_IDS: Final = 1 << 18  # ids kept in the set: ~18 MB at most, then the compact table


def id_hash(message_id: str) -> int:
    """A non-zero 64-bit key for a messageId. Python's str hash is salted per process; forked workers
    inherit the salt, so every process of one run agrees. Two distinct ids collide with probability
    ~n²/2⁶⁵ (about 3 in 100 million for a million ids)."""
    return hash(message_id) & MASK64 or 1  # str hashes are never -1, so never _GONE


class SeenIds:
    """A set of 64-bit keys (never 0). Up to `small_limit` keys, a Python set; then one table with linear
    probing (0 marks an empty slot), doubled at half load. Sized from the expected events, it need not grow
    on the way; when it must (stdin, compressed input), the old and the new table coexist for the copy:
    1.5 times the final size, for a moment."""

    __slots__ = ("_capacity", "_limit", "_mask", "_slots", "_small", "_used", "count")

    def __init__(self, capacity: int = 1 << 16, small_limit: int = SMALL_IDS) -> None:
        self._capacity = capacity
        self._limit = small_limit
        self._small: set[int] | None = set() if small_limit > 0 else None
        self._slots: array[int] = array("Q")
        self._mask = -1
        self._used = 0  # occupied slots, taken-back ones included
        self.count = 0
        if self._small is None:
            self._allocate(capacity)

    def _allocate(self, capacity: int) -> None:
        """A table of `capacity` slots (a power of two at least), so half as many keys before it grows."""
        size = 1 << 10
        while size < capacity:
            size <<= 1
        self._slots = array("Q", bytes(8 * size))
        self._mask = size - 1
        self._used = 0

    def _leave_the_set(self) -> None:
        """Move the set's keys into the compact table, sized for the expected ids, or with room for twice
        these at half load when that is more."""
        assert self._small is not None
        keys = array("Q", self._small)  # 8 bytes per id: the set (~70) is freed before the table is made
        self._small = None
        self._allocate(max(self._capacity, 4 * len(keys)))
        self._insert_new(keys)
        self.count = len(keys)

    def _insert_new(self, keys: array[int]) -> None:
        """Insert keys known to be distinct and absent (a move, a growth)."""
        slots, mask = self._slots, self._mask
        for key in keys:
            i = key & mask
            while slots[i]:
                i = (i + 1) & mask
            slots[i] = key
        self._used += len(keys)

    def add(self, key: int) -> bool:
        """Insert key; True when it was new, False when it had been seen before."""
        small = self._small
        if small is not None:
            if key in small:
                return False
            small.add(key)
            self.settle()
            return True
        slots, mask = self._slots, self._mask
        i = key & mask
        current = slots[i]
        while current:
            if current == key:
                return False
            i = (i + 1) & mask
            current = slots[i]
        slots[i] = key
        self.count += 1
        self._used += 1
        if self._used * 2 > mask:
            self._grow()
        return True

    def open_set(self) -> set[int] | None:
        """The set itself while the ids are kept in one, for a caller that tests and adds `id_hash` keys
        inline (map_block) and calls settle() when it is done; None once the compact table holds them."""
        return self._small

    def recording(self) -> Callable[[int], None] | None:
        """For a stand-in that only records keys (a --workers block, see workers._Recorder): the function
        recording one `id_hash` key, which map_block calls inline; None here (a real table decides)."""
        return None

    def settle(self) -> None:
        """Move into the compact table once the set holds its limit of keys (whoever added them)."""
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
        if (self._used + len(keys)) * 2 > self._mask:
            self._grow(len(keys))  # room for them all first: the probes below never see the table move
        slots, mask = self._slots, self._mask
        for n, key in enumerate(keys):
            i = key & mask
            current = slots[i]
            while current:
                if current == key:
                    self._take_back(keys[:n])
                    return False
                i = (i + 1) & mask
                current = slots[i]
            slots[i] = key
        self._used += len(keys)
        self.count += len(keys)
        return True

    def _take_back(self, keys: array[int]) -> None:
        for key in keys:
            i = self._slot(key)
            self._slots[i] = _GONE  # the slot stays occupied (counted in _used) until the table grows
        self._used += len(keys)

    def __contains__(self, key: int) -> bool:
        if self._small is not None:
            return key in self._small
        return self._slots[self._slot(key)] == key

    def _slot(self, key: int) -> int:
        """The index holding the key, or the empty slot where its probe ends. (add and add_all_if_new inline
        this probe: they run for every event.)"""
        slots, mask = self._slots, self._mask
        i = key & mask
        while True:
            current = slots[i]
            if current == 0 or current == key:
                return i
            i = (i + 1) & mask

    def __len__(self) -> int:
        return len(self._small) if self._small is not None else self.count

    def _grow(self, more: int = 1) -> None:
        """A table twice as large (or more, to hold `more` keys beside the live ones at half load), without
        the taken-back slots."""
        old = self._slots
        live = array("Q", (key for key in old if key and key != _GONE))
        size = len(old)
        while size < 2 * (len(live) + more) + 2:
            size <<= 1
        self._slots = array("Q", bytes(8 * size))
        self._mask = size - 1
        self._used = 0
        del old
        self._insert_new(live)
