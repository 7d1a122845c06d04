"""Shared helpers: run the real CLI in-process and build inputs in temp folders."""

from __future__ import annotations

import sys
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


def ndjson(events: list[dict]) -> bytes:
    return b"".join(orjson.dumps(e) + b"\n" for e in events)
