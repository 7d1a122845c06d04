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
    """A set of 64-bit keys (never 0) with linear probing, grown at half load."""

    __slots__ = ("_mask", "_slots", "count")

    def __init__(self, capacity: int = 1 << 16) -> None:
        size = 1
        while size < capacity:
            size <<= 1
        self._slots = array("Q", bytes(8 * size))
        self._mask = size - 1
        self.count = 0

    def add(self, key: int) -> bool:
        """Insert key; True when it was new, False when it had been seen before."""
        slots = self._slots
        mask = self._mask
        i = key & mask
        while True:
            current = slots[i]
            if current == _EMPTY:
                break
            if current == key:
                return False
            i = (i + 1) & mask
        slots[i] = key
        self.count += 1
        if self.count * 2 > mask:
            self._grow()
        return True

    def __contains__(self, key: int) -> bool:
        slots = self._slots
        mask = self._mask
        i = key & mask
        while True:
            current = slots[i]
            if current == _EMPTY:
                return False
            if current == key:
                return True
            i = (i + 1) & mask

    def __len__(self) -> int:
        return self.count

    def _grow(self) -> None:
        old = self._slots
        size = (self._mask + 1) * 2
        slots = array("Q", bytes(8 * size))
        mask = size - 1
        for key in old:
            if key:
                i = key & mask
                while slots[i]:
                    i = (i + 1) & mask
                slots[i] = key
        self._slots = slots
        self._mask = mask
