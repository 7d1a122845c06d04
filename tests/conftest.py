"""Shared helpers: run the real CLI in-process and build inputs in temp folders."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str
    stdout_bytes: bytes

    def lines(self) -> list[dict]:
        return [orjson.loads(line) for line in self.stdout_bytes.splitlines() if line.strip()]


def run_cli(args: list[str], input: bytes | str | None = None, env: dict[str, str] | None = None) -> Run:
    """Invoke `ld-segment ARGS` through Typer's runner (the same code path as the console script)."""
    from ld_segment_cli.cli import app  # imported here so module-level tests do not need the whole CLI

    result = CliRunner().invoke(app, args, input=input, env=env, catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr, result.stdout_bytes)


@pytest.fixture
def cli():
    return run_cli


def stderr_of_cli(args: list[str], tty: bool) -> tuple[int, str]:
    """Run `ld-segment ARGS` in a child process with stderr on a pseudo-terminal (or a pipe), stdout discarded;
    return the exit code and what it wrote to stderr. Bounded to 60 s."""
    main = "from ld_segment_cli import cli\ncli.main()\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LD_")} | {"PYTHONPATH": str(ROOT),
                                                                             "COLUMNS": "160", "TERM": "xterm"}
    cmd = [sys.executable, "-c", main, *args]
    if not tty:
        done = subprocess.run(cmd, capture_output=True, env=env, timeout=60)
        return done.returncode, done.stderr.decode()
    reader, writer = pty.openpty()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=writer, env=env)
    os.close(writer)
    out = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([reader], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(reader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    os.close(reader)
    return proc.wait(timeout=10), out.decode(errors="replace")


def ndjson(events: list[dict]) -> bytes:
    return b"".join(orjson.dumps(e) + b"\n" for e in events)
