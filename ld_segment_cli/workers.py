"""--workers N: map blocks in N forked processes while the parent reads, writes and keeps the order.

Blocks go round-robin (block k to worker k mod N), so results are collected in input order by reading the
workers in turn. De-duplication by messageId must see the events in input order across all workers: each
worker parses its block, asks the parent's verdict thread which of its messageIds are new (the thread
answers blocks strictly in order, against the run's one table), then maps. Parsing and mapping run in
parallel; only the short table lookups are serial."""

from __future__ import annotations

import contextlib
import multiprocessing
import sys
import threading
from array import array
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection

import orjson

from .dedupe import id_hash
from .pipeline import Engine, MappedBlock, map_block
from .sources import Block, ReadFailure

IN_FLIGHT = 3  # blocks queued per worker: enough to hide latency, small enough for constant memory


class _Verdicts:
    """Stands in for the engine's SeenIds inside a worker: replays the parent's answers in order."""

    __slots__ = ("_flags", "_next")

    def __init__(self, flags: bytes) -> None:
        self._flags = flags
        self._next = 0

    def add(self, key: int) -> bool:
        new = self._flags[self._next] == 1
        self._next += 1
        return new


def _message_keys(block: Block) -> bytes:
    """The messageId keys of a block, in the order Engine.screen will ask for them. Parsing twice is cheaper
    than keeping a block's parsed events alive until the verdict comes (fresh memory, cache misses)."""
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    keys: array[int] = array("Q")
    for raw in block.lines:
        if raw:
            try:
                event = loads(raw)
            except decode_error:
                continue
            if type(event) is dict:
                mid = event.get("messageId")
                if type(mid) is str:
                    keys.append(id_hash(mid))
    return keys.tobytes()


def _joined(result: MappedBlock) -> MappedBlock:
    """One bytes object instead of a list of event lines: one pickle item instead of thousands."""
    out, rejected, part, stopped = result
    return ([b"\n".join(out)] if out else []), rejected, part, stopped


def _worker(engine: Engine, tasks: Connection, results: Connection, verdicts: Connection | None,
            fail_fast: bool) -> None:
    dedupe = verdicts is not None
    while True:
        block = tasks.recv()
        if block is None:
            break
        if not dedupe:
            results.send(_joined(map_block(engine, block, fail_fast)))
            continue
        if isinstance(block, ReadFailure):
            verdicts.send_bytes(b"")  # type: ignore[union-attr] # every block takes its turn
            verdicts.recv_bytes()  # type: ignore[union-attr]
            results.send(_joined(map_block(engine, block, fail_fast)))
            continue
        verdicts.send_bytes(_message_keys(block))  # type: ignore[union-attr]
        engine.seen = _Verdicts(verdicts.recv_bytes())  # type: ignore[union-attr, assignment]
        results.send(_joined(map_block(engine, block, fail_fast)))


class _Feed:
    """Shared between the feeding thread and the collecting generator: how many blocks went out, and how
    the feed ended. Feeding runs in its own thread so that a worker blocked on a large result can never
    block the parent sending it the next task (the classic pipe deadlock)."""

    def __init__(self, in_flight: int) -> None:
        self.cond = threading.Condition()
        self.slots = threading.Semaphore(in_flight)
        self.stop = threading.Event()
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


def _serve_verdicts(engine: Engine, conns: list[Connection], feed: _Feed) -> None:
    """Answer the workers' 'which of these are new?' questions in block order, against the run's table."""
    seen = engine.seen
    assert seen is not None
    n = len(conns)
    turn = 0
    add = seen.add
    while not feed.stop.is_set():
        conn = conns[turn % n]
        if not conn.poll(0.05):
            with feed.cond:
                if feed.done and turn >= feed.sent:
                    return
            continue
        try:
            data = conn.recv_bytes()
            keys = array("Q")
            keys.frombytes(data)
            conn.send_bytes(bytes([add(k) for k in keys]))
        except (EOFError, OSError):  # a worker ended early (stopped run, `| head`): nothing more to answer
            return
        turn += 1


def map_parallel(engine: Engine, blocks: Iterable[Block | ReadFailure], workers: int,
                 fail_fast: bool = False) -> Iterator[MappedBlock]:
    """Map blocks in `workers` processes; yield the results in input order."""
    ctx = multiprocessing.get_context("fork")
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # a forked child flushes its copy of these buffers when it exits
    dedupe = engine.seen is not None
    task_conns: list[Connection] = []
    result_conns: list[Connection] = []
    verdict_conns: list[Connection] = []
    child_ends: list[Connection] = []
    procs = []
    for _ in range(workers):
        task_recv, task_send = ctx.Pipe(duplex=False)
        result_recv, result_send = ctx.Pipe(duplex=False)
        parent_v, child_v = ctx.Pipe(duplex=True) if dedupe else (None, None)
        procs.append(ctx.Process(target=_worker, args=(engine, task_recv, result_send, child_v, fail_fast),
                                 daemon=True))
        task_conns.append(task_send)
        result_conns.append(result_recv)
        child_ends += [task_recv, result_send] + ([child_v] if child_v is not None else [])
        if parent_v is not None:
            verdict_conns.append(parent_v)
    for proc in procs:
        proc.start()
    for conn in child_ends:
        conn.close()  # so that a dead worker shows as EOF instead of a hang
    feed = _Feed(IN_FLIGHT * workers)
    threads = [threading.Thread(target=_feed, args=(feed, blocks, task_conns), daemon=True)]
    if dedupe:
        threads.append(threading.Thread(target=_serve_verdicts, args=(engine, verdict_conns, feed), daemon=True))
    # The verdict thread must answer within microseconds while the main thread writes output; Python's
    # default 5 ms GIL switch interval would stall every worker at every block.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)
    for thread in threads:
        thread.start()
    received = 0
    try:
        while True:
            with feed.cond:
                while received >= feed.sent and not feed.done:
                    feed.cond.wait()
                if received >= feed.sent:
                    break
            try:
                result = result_conns[received % workers].recv()
            except EOFError:
                raise RuntimeError("a --workers process died; run again with --workers 1 to see why") from None
            received += 1
            feed.slots.release()
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
        for thread in threads:
            thread.join(timeout=1)
        for conn in task_conns + result_conns + verdict_conns:
            conn.close()
        sys.setswitchinterval(interval)
