"""--workers N: map blocks in N processes (N-1 forked workers and this one) while this one also reads,
writes and keeps the order.

A reading thread hands each block to the forked worker with the fewest blocks in flight or, when every one
holds IN_FLIGHT, leaves it to this process. This process takes results in input order (each worker's in
the order it was sent blocks) and, whenever the next result is not ready, maps a block left to it further
on instead of waiting: on two cores two processes share the work, this one's reading, checking and writing
included, instead of three competing for the cores. De-duplication by messageId must see the events in
input order, so a block mapped ahead of its turn (by a worker, or here) is mapped as if every messageId
were new, recording the ids it met, and checked here, in order, against the run's one table; a block left
to this process and reached in its turn is mapped against the table itself. A block with no id seen
before (the common case) is accepted as it is; a block holding a duplicate is mapped again, here, against
the table — so output, rejects and counts always equal a one-process run."""

from __future__ import annotations

import contextlib
import copy
import fcntl
import multiprocessing
import select
import sys
import threading
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection

from .dedupe import SeenIds, id_hash
from .pipeline import Engine, MappedBlock, map_block
from .sources import Block, ReadFailure

IN_FLIGHT = 12  # blocks queued per process: enough to hide latency, small enough for constant memory


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
        return None  # no set to test: every id is recorded

    def recording(self) -> Callable[[int], None]:
        return self.keys.append  # map_block records each id_hash key with it, inline

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
        results.send((_line_count(block), result))


def _line_count(block: Block | ReadFailure) -> int | None:
    return block.line_count if isinstance(block, Block) else None


def _place(result: MappedBlock, shift: int) -> MappedBlock:
    """A result of a block that follows (Block.follows), numbered from 1, moved `shift` lines on."""
    if shift:
        for outcome in result[1]:  # the outcome that stopped a --fail-fast run is one of these
            outcome.line += shift
    return result


def _accept(seen: SeenIds, data: bytes) -> bool:
    """Add a block's messageId keys to the run's table if none was seen before (nor twice in the block)."""
    if not data:
        return True
    keys: array[int] = array("Q")
    keys.frombytes(data)
    return seen.add_all_if_new(keys)


class _Pending:
    """A block in input order: the worker it went to (-1: this process), and, once this process mapped it
    ahead of its turn, the result with its messageId keys and line count."""

    __slots__ = ("block", "count", "keys", "result", "target")

    def __init__(self, block: Block | ReadFailure, target: int) -> None:
        self.block = block
        self.target = target
        self.result: MappedBlock | None = None
        self.keys = b""
        self.count: int | None = None


class _Feed:
    """Shared between the reading thread and the collecting generator: the blocks sent or left to this
    process and not yet collected, the blocks each worker holds, and how the feed ended. Reading runs in its
    own thread so that a worker blocked on a large result can never block the parent sending it the next
    task (the classic pipe deadlock); it maps nothing, so it rarely wants the GIL the collector holds."""

    def __init__(self, workers: int) -> None:
        self.cond = threading.Condition()
        self.stop = threading.Event()
        self.pending: deque[_Pending] = deque()
        self.sent: list[deque[_Pending]] = [deque() for _ in range(workers)]  # each worker's, result not back
        self.mine = 0  # blocks left to this process and not yet collected
        self.done = False
        self.error: BaseException | None = None


def _feed(feed: _Feed, blocks: Iterable[Block | ReadFailure], task_conns: list[Connection]) -> None:
    """Give each block to the least busy worker, or leave it to this process when all hold IN_FLIGHT; never
    more than IN_FLIGHT blocks per process waiting to be collected (constant memory). A worker with room
    gets the next block even while this process's blocks wait: workers are never left without work."""
    limit = 2 * IN_FLIGHT * (len(task_conns) + 1)  # results back but not yet taken in order count too
    try:
        for block in blocks:
            with feed.cond:
                while True:
                    if feed.stop.is_set():
                        return
                    if len(feed.pending) >= limit:
                        feed.cond.wait(0.1)
                        continue
                    target = min(range(len(feed.sent)), key=lambda w: len(feed.sent[w]))
                    if len(feed.sent[target]) < IN_FLIGHT:
                        break
                    if feed.mine < IN_FLIGHT:
                        target = -1
                        feed.mine += 1
                        break
                    feed.cond.wait(0.1)
                entry = _Pending(block, target)
                feed.pending.append(entry)
                if target >= 0:
                    feed.sent[target].append(entry)
                feed.cond.notify_all()
            if target >= 0:
                task_conns[target].send(block)
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
    """Map blocks in `workers` processes (this one among them); yield the results in input order."""
    ctx = multiprocessing.get_context("fork")
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # a forked child flushes its copy of these buffers when it exits
    seen = engine.seen
    task_conns: list[Connection] = []
    result_conns: list[Connection] = []
    child_ends: list[Connection] = []
    procs = []
    for _ in range(workers - 1):
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
    feed = _Feed(len(procs))
    feeder = threading.Thread(target=_feed, args=(feed, blocks, task_conns), daemon=True)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.001)  # the reading thread gets its turn (a task sent) soon after it asks
    feeder.start()
    finished = False
    next_line = 1  # the line number the next block that follows starts at
    ahead = copy.copy(engine)  # for blocks mapped here ahead of their turn: a recording messageId state

    def receive(worker: int) -> None:
        """The worker's next result, into the block it belongs to (results come back in the order sent)."""
        try:
            keys = result_conns[worker].recv_bytes()
            count, result = result_conns[worker].recv()
        except EOFError:
            raise RuntimeError("a --workers process died; run again with --workers 1 to see why") from None
        with feed.cond:
            entry = feed.sent[worker].popleft()  # room for its next block at once, whatever this process does
            feed.cond.notify_all()
        entry.result, entry.keys, entry.count = result, keys, count

    def in_place(block: Block | ReadFailure) -> Block | ReadFailure:
        """The block numbered where it stands (see Block.follows), all the results before it being taken."""
        return block.placed(next_line) if isinstance(block, Block) and block.follows else block

    poller = select.poll()  # one system call tells which workers have results back (Connection.poll: one each)
    worker_of: dict[int, int] = {}
    for worker, conn in enumerate(result_conns):
        poller.register(conn.fileno(), select.POLLIN)
        worker_of[conn.fileno()] = worker
    try:
        while True:
            for fd, _ in poller.poll(0):
                worker = worker_of[fd]
                if feed.sent[worker]:
                    receive(worker)
            with feed.cond:
                while not feed.pending and not feed.done:
                    feed.cond.wait()
                if not feed.pending:
                    break
                entry = feed.pending[0]
                early = None
                waiting = entry.target >= 0 and entry.result is None  # the next result is not back yet
                if waiting:
                    early = next((e for e in feed.pending if e.target < 0 and e.result is None), None)
                else:
                    feed.pending.popleft()
                    if entry.target < 0:
                        feed.mine -= 1
                    feed.cond.notify_all()
            if early is not None:  # map one of this process's blocks meanwhile, ahead of its turn
                recorder = _Recorder()
                if seen is not None:
                    ahead.seen = recorder  # type: ignore[assignment]
                early.result = map_block(ahead, early.block, fail_fast)
                early.keys, early.count = recorder.keys.tobytes(), _line_count(early.block)
                continue
            if waiting:
                receive(entry.target)  # nothing to do meanwhile: wait for it
                continue
            block = entry.block
            if entry.target < 0 and entry.result is None:  # reached in its turn: mapped against the table
                placed = in_place(block)
                result = map_block(engine, placed, fail_fast)
                count = _line_count(placed)
                if isinstance(placed, Block) and count is not None:
                    next_line = placed.start + count
                yield result
                continue
            result, keys, count = entry.result, entry.keys, entry.count
            assert result is not None
            if isinstance(block, Block):
                start = next_line if block.follows else block.start
                if (seen is not None and not _accept(seen, keys)) or count is None:
                    # a duplicate, or a span that could not be read: this block again, in order, here, numbered
                    result = map_block(engine, in_place(block), fail_fast)
                elif block.follows:
                    result = _place(result, start - 1)
                if count is not None:
                    next_line = start + count
            elif seen is not None and not _accept(seen, keys):
                result = map_block(engine, block, fail_fast)
            yield result
        if feed.error is not None:
            raise feed.error
        finished = True
    finally:
        feed.stop.set()
        with feed.cond:
            feed.cond.notify_all()
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
        sys.setswitchinterval(interval)
        for conn in task_conns + result_conns:
            conn.close()
