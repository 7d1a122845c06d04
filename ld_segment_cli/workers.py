"""--workers N: map blocks in N forked processes while the parent reads, writes and keeps the order.

Blocks go round-robin (block k to worker k mod N), so results are collected in input order by reading the
workers in turn. De-duplication by messageId must see the events in input order across all workers, so it
is speculative: a worker maps its block as if every messageId were new and records the ids it met; the
parent, taking results in order, checks them against the run's one table. A block with no id seen before
(the common case) is accepted as it is; a block holding a duplicate is mapped again in the parent, serially,
against the table — so output, rejects and counts always equal a one-process run."""

from __future__ import annotations

import contextlib
import fcntl
import multiprocessing
import sys
import threading
from array import array
from collections import deque
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection

from .dedupe import SeenIds, id_hash
from .pipeline import Engine, MappedBlock, map_block
from .sources import Block, ReadFailure

IN_FLIGHT = 6  # blocks queued per worker: enough to hide latency, small enough for constant memory


class _Recorder:
    """Stands in for the engine's SeenIds inside a worker: calls every id new and remembers them in order."""

    __slots__ = ("keys",)

    def __init__(self) -> None:
        self.keys: array[int] = array("Q")

    def add(self, key: int) -> bool:
        self.keys.append(key)
        return True

    def add_id(self, message_id: str) -> bool:
        self.keys.append(id_hash(message_id))
        return True

    def open_set(self) -> None:
        return None  # every id goes through add_id, to be recorded

    def settle(self) -> None:
        pass


def _joined(result: MappedBlock) -> MappedBlock:
    """What the parent needs, cheap to pickle: one bytes object instead of a list of event lines, and the
    rejected outcomes without their parsed events (the rejects file needs only origin, raw line, reasons)."""
    out, rejected, part, stopped = result
    for outcome in rejected:
        outcome.event = None
    return ([b"\n".join(out)] if out else []), rejected, part, stopped


def _worker(engine: Engine, tasks: Connection, results: Connection, dedupe: bool, fail_fast: bool) -> None:
    while True:
        block = tasks.recv()
        if block is None:
            break
        recorder = _Recorder()
        if dedupe:
            engine.seen = recorder  # type: ignore[assignment]
        result = _joined(map_block(engine, block, fail_fast))
        results.send_bytes(recorder.keys.tobytes())
        results.send(result)


def _accept(seen: SeenIds, data: bytes) -> bool:
    """Add a block's messageId keys to the run's table if none was seen before (nor twice in the block)."""
    if not data:
        return True
    keys: array[int] = array("Q")
    keys.frombytes(data)
    return seen.add_all_if_new(keys)


class _Feed:
    """Shared between the feeding thread and the collecting generator: the blocks sent and not yet collected,
    and how the feed ended. Feeding runs in its own thread so that a worker blocked on a large result can
    never block the parent sending it the next task (the classic pipe deadlock)."""

    def __init__(self, in_flight: int) -> None:
        self.cond = threading.Condition()
        self.slots = threading.Semaphore(in_flight)
        self.stop = threading.Event()
        self.pending: deque[Block | ReadFailure] = deque()
        self.sent = 0
        self.done = False
        self.error: BaseException | None = None


def _feed(feed: _Feed, blocks: Iterable[Block | ReadFailure], task_conns: list[Connection]) -> None:
    n = len(task_conns)
    try:
        for block in blocks:
            while not feed.slots.acquire(timeout=0.1):
                if feed.stop.is_set():
                    return
            if feed.stop.is_set():
                return
            with feed.cond:
                feed.pending.append(block)
            task_conns[feed.sent % n].send(block)
            with feed.cond:
                feed.sent += 1
                feed.cond.notify_all()
    except BaseException as exc:  # reading failed in an unexpected way: hand it to the consumer
        feed.error = exc
    finally:
        with feed.cond:
            feed.done = True
            feed.cond.notify_all()


PIPE_BYTES = 1 << 20  # a result (~80 KB of events per 256 KiB block) fits a few times over


def _widen(conn: Connection) -> None:
    """Grow a pipe's kernel buffer (Linux: 64 KiB by default, less than one block's result), so a worker can
    hand over a result and go on with the next block while the parent is still writing the previous one."""
    with contextlib.suppress(OSError, AttributeError):  # other systems, or above /proc/sys/fs/pipe-max-size
        fcntl.fcntl(conn.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def map_parallel(engine: Engine, blocks: Iterable[Block | ReadFailure], workers: int,
                 fail_fast: bool = False) -> Iterator[MappedBlock]:
    """Map blocks in `workers` processes; yield the results in input order."""
    ctx = multiprocessing.get_context("fork")
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # a forked child flushes its copy of these buffers when it exits
    seen = engine.seen
    task_conns: list[Connection] = []
    result_conns: list[Connection] = []
    child_ends: list[Connection] = []
    procs = []
    for _ in range(workers):
        task_recv, task_send = ctx.Pipe(duplex=False)
        result_recv, result_send = ctx.Pipe(duplex=False)
        procs.append(ctx.Process(target=_worker, args=(engine, task_recv, result_send, seen is not None, fail_fast),
                                 daemon=True))
        _widen(result_send)
        task_conns.append(task_send)
        result_conns.append(result_recv)
        child_ends += [task_recv, result_send]
    for proc in procs:
        proc.start()
    for conn in child_ends:
        conn.close()  # so that a dead worker shows as EOF instead of a hang
    feed = _Feed(IN_FLIGHT * workers)
    feeder = threading.Thread(target=_feed, args=(feed, blocks, task_conns), daemon=True)
    feeder.start()
    received = 0
    try:
        while True:
            with feed.cond:
                while received >= feed.sent and not feed.done:
                    feed.cond.wait()
                if received >= feed.sent:
                    break
                block = feed.pending.popleft()
            conn = result_conns[received % workers]
            try:
                keys = conn.recv_bytes()
                result = conn.recv()
            except EOFError:
                raise RuntimeError("a --workers process died; run again with --workers 1 to see why") from None
            received += 1
            feed.slots.release()
            if seen is not None and not _accept(seen, keys):
                result = map_block(engine, block, fail_fast)  # a duplicate: this block again, in order, here
            yield result
        if feed.error is not None:
            raise feed.error
    finally:
        feed.stop.set()
        finished = feed.done and received >= feed.sent
        for conn, proc in zip(task_conns, procs, strict=True):
            if not finished:
                proc.kill()  # stopped early: a worker may be blocked writing a result nobody will read
                continue
            with contextlib.suppress(OSError):
                conn.send(None)
        for proc in procs:
            proc.join(timeout=0.5)
            if proc.is_alive():
                proc.kill()
                proc.join()
        feeder.join(timeout=1)
        for conn in task_conns + result_conns:
            conn.close()
