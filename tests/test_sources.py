"""Reading inputs: files, folders, globs, stdin, gzip/zstd by magic bytes, positions and bad streams."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import pytest
import zstandard

from ld_segment_cli.errors import InputError
from ld_segment_cli.sources import BOM, Block, Line, ReadFailure, Source, expand_inputs, read_blocks, read_lines


def _lines(path) -> list[Line | ReadFailure]:
    return list(read_lines(Source(str(path), path)))


def test_folders_are_read_recursively_in_sorted_path_order(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "z").mkdir(parents=True)
    for rel in ["b/1.ndjson", "a/z/2.ndjson", "a/1.ndjson", ".hidden"]:
        (tmp_path / rel).write_text("{}\n")
    names = [s.name for s in expand_inputs([str(tmp_path)])]
    assert names == [str(tmp_path / "a/1.ndjson"), str(tmp_path / "a/z/2.ndjson"), str(tmp_path / "b/1.ndjson")]


def test_globs_expand_sorted_and_an_empty_glob_is_an_error(tmp_path):
    for name in ["x2.ndjson", "x1.ndjson"]:
        (tmp_path / name).write_text("{}\n")
    assert [s.name for s in expand_inputs([str(tmp_path / "x*.ndjson")])] == [
        str(tmp_path / "x1.ndjson"), str(tmp_path / "x2.ndjson")]
    with pytest.raises(InputError, match="no file matches"):
        expand_inputs([str(tmp_path / "nothing-*.gz")])


def test_missing_input_is_an_error_before_reading(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        expand_inputs([str(tmp_path / "missing.ndjson")])


def test_no_argument_and_a_pipe_means_stdin():
    assert expand_inputs([], stdin_is_tty=False) == [Source("-", None)]
    with pytest.raises(InputError, match="no input"):
        expand_inputs([], stdin_is_tty=True)


def test_gzip_is_detected_by_magic_bytes_and_lines_keep_decompressed_numbers(tmp_path):
    path = tmp_path / "export-without-extension"
    path.write_bytes(gzip.compress(b'{"a":1}\n\n{"a":2}\n'))
    assert _lines(path) == [Line(str(path), 1, b'{"a":1}'), Line(str(path), 3, b'{"a":2}')]


def test_multi_member_gzip_reads_every_member(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(b'{"a":1}\n') + gzip.compress(b'{"a":2}\n'))
    assert [item.raw for item in _lines(path)] == [b'{"a":1}', b'{"a":2}']


def test_zstd_is_detected_by_magic_bytes(tmp_path):
    path = tmp_path / "x.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(b'{"a":1}\n{"a":2}\n'))
    assert [item.raw for item in _lines(path)] == [b'{"a":1}', b'{"a":2}']


def test_bom_crlf_and_blank_lines_are_tolerated(tmp_path):
    path = tmp_path / "x.ndjson"
    path.write_bytes(b'\xef\xbb\xbf{"a":1}\r\n   \r\n{"a":2}')
    assert _lines(path) == [Line(str(path), 1, b'{"a":1}'), Line(str(path), 3, b'{"a":2}')]


def test_truncated_gzip_keeps_what_was_read_and_reports_where_it_stopped(tmp_path):
    body = b"".join(b'{"n":%d,"pad":"%s"}\n' % (i, b"x" * 50) for i in range(2000))
    data = gzip.compress(body)
    path = tmp_path / "cut.gz"
    path.write_bytes(data[: len(data) // 2])
    items = _lines(path)
    *good, failure = items
    assert good and all(isinstance(i, Line) for i in good)
    assert [i.number for i in good] == list(range(1, len(good) + 1))
    assert isinstance(failure, ReadFailure)
    assert failure.number == len(good) + 1
    assert "truncated gzip" in failure.reason


def test_a_block_sent_to_a_worker_travels_as_a_file_span_and_reads_the_same_lines(tmp_path):
    """Plain files: a pickled block carries (path, offset, length), not its text; the worker's read gives the
    very lines the reader saw — across chunk boundaries, after a BOM, with CRLF, around an over-long line."""
    rows = [f'{{"n":{i},"pad":"{"x" * (i % 700)}"}}'.encode() for i in range(3000)]
    rows[1500] = b"y" * 700_000  # over-long for the limit below: skipped to its end by the reader
    path = tmp_path / "in.ndjson"
    path.write_bytes(BOM + b"\r\n".join(rows) + b"\r\n")
    source = Source(str(path), path)
    blocks = [b for b in read_blocks(source, max_line_bytes=600_000, keep_text=False) if isinstance(b, Block)]
    assert len(blocks) > 3
    travelled = [pickle.dumps(b) for b in blocks]
    assert sum(len(t) < 1000 for t in travelled) >= len(blocks) - 2  # spans, not text
    lines = [ln for t in travelled for ln in pickle.loads(t).lines]
    assert lines == [r for r in rows if r != rows[1500]]
    # split by the reader (one process): the same lines, numbered the same
    split_here = [b for b in read_blocks(source, max_line_bytes=600_000) if isinstance(b, Block)]
    assert [ln for b in split_here for ln in b.lines] == lines
    assert [(b.start, len(b.lines)) for b in split_here] == [(b.start, len(b.lines)) for b in blocks]
    spans_only = read_blocks(Source(str(path), path), max_line_bytes=600_000, keep_text=False)
    assert [ln for b in spans_only if isinstance(b, Block) for ln in b.lines] == lines  # the reader copied nothing


def test_a_pipe_gives_blocks_without_spans(tmp_path):
    import os

    read_end, write_end = os.pipe()
    os.write(write_end, b'{"a":1}\n{"a":2}\n')
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        source = Source("pipe", Path(f"/dev/fd/{pipe.fileno()}"))
        (block,) = list(read_blocks(source))
    assert pickle.loads(pickle.dumps(block)).lines == [b'{"a":1}', b'{"a":2}']


@pytest.mark.parametrize("chunk", [7, 64, 1 << 18])
def test_blocks_split_by_the_reader_and_by_a_worker_hold_the_same_lines(tmp_path, monkeypatch, chunk: int):
    """The reader splits chunks itself in one process and leaves the text (or span) to a worker otherwise:
    for any content both give the lines of a plain split — BOM dropped, CR of CRLF dropped, numbered from 1 —
    whatever the chunk boundaries, and the same read failures for over-long lines."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    monkeypatch.setattr("ld_segment_cli.sources.READ_BUFFER", chunk)
    path = tmp_path / "in.ndjson"
    pieces = st.sampled_from([b"{}", b'{"a":1}', b"\r", b"\n", b"\r\n", b"", b"x" * 40, b"\xef\xbb\xbf"])

    def flat(blocks: list[Block | ReadFailure]) -> list[tuple[int, bytes | str]]:
        out: list[tuple[int, bytes | str]] = []
        for b in blocks:
            if isinstance(b, ReadFailure):
                out.append((b.number, b.reason))
            else:
                out += list(enumerate(b.lines, b.start))
        return out

    @settings(max_examples=150, deadline=None)
    @given(st.booleans(), st.lists(pieces, max_size=40))
    def check(bom: bool, parts: list[bytes]) -> None:
        content = (BOM if bom else b"") + b"".join(parts)
        path.write_bytes(content)
        source = Source(str(path), path)
        here = flat(list(read_blocks(source, max_line_bytes=30)))
        there = flat([pickle.loads(pickle.dumps(b)) for b in read_blocks(source, max_line_bytes=30, keep_text=False)])
        assert here == there
        if all(len(line) <= 30 for line in content.removeprefix(BOM).split(b"\n")):
            expected = content.removeprefix(BOM).split(b"\n")
            if expected[-1] == b"":
                expected.pop()
            expected = [ln.removesuffix(b"\r") for ln in expected]
            assert [ln for _, ln in here] == expected
            assert [n for n, _ in here] == list(range(1, len(expected) + 1))

    check()


@pytest.mark.parametrize("chunk", [7, 64, 300])
def test_probed_spans_placed_after_one_another_hold_the_lines_the_reader_numbers(tmp_path, monkeypatch, chunk: int):
    """With --workers a plain file's blocks are found by probing past each READ_BUFFER for a newline, without
    counting lines: the first block starts at line 1 and each block that `follows` starts after the previous
    one's lines; a line longer than the probe hands the rest to the reader in order, numbered. Placed so,
    they hold the lines, numbered as the one-process reader numbers them, for any content."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    monkeypatch.setattr("ld_segment_cli.sources.READ_BUFFER", chunk)
    monkeypatch.setattr("ld_segment_cli.sources.PROBE_BYTES", 16)
    path = tmp_path / "in.ndjson"
    pieces = st.sampled_from([b"{}", b'{"a":1}', b"\r", b"\n", b"\n", b"\r\n", b"", b"x" * 40, b"\xef\xbb\xbf"])

    def placed(blocks: list[Block | ReadFailure]) -> list[tuple[int, bytes | str]]:
        out: list[tuple[int, bytes | str]] = []
        next_line = 1
        for b in blocks:
            if isinstance(b, ReadFailure):
                out.append((b.number, b.reason))
                continue
            start = next_line if b.follows else b.start
            out += list(enumerate(b.lines, start))
            next_line = start + len(b.lines)
        return out

    @settings(max_examples=200, deadline=None)
    @given(st.booleans(), st.lists(pieces, max_size=60))
    def check(bom: bool, parts: list[bytes]) -> None:
        path.write_bytes((BOM if bom else b"") + b"".join(parts))
        source = Source(str(path), path)
        here = [(n, ln) for b in read_blocks(source) for n, ln in enumerate(b.lines, b.start)]  # type: ignore[union-attr]
        there = placed([pickle.loads(pickle.dumps(b)) for b in read_blocks(source, keep_text=False)])
        assert here == there

    check()
