"""Start-up cost: the NDJSON hot path with plain stderr loads neither rich, PyYAML nor httpx (together more
than half of a bare start), and still prints its one-line summary; a terminal or the rich view loads rich."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

PROBE = """
import sys
from ld_segment_cli.cli import main
sys.argv = ["ld-segment", *sys.argv[1:]]
try:
    main()
finally:
    heavy = sorted(m for m in ("rich", "yaml", "httpx", "liquid") if m in sys.modules)
    sys.stderr.write("loaded: " + ",".join(heavy) + "\\n")
"""


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", **(env or {})})


def _loaded(result: subprocess.CompletedProcess[bytes]) -> set[str]:
    line = result.stderr.decode().splitlines()[-1]
    assert line.startswith("loaded:"), result.stderr.decode()
    return set(filter(None, line.removeprefix("loaded:").strip().split(",")))


def test_ndjson_dry_run_with_plain_stderr_loads_no_rich_yaml_or_httpx():
    result = _run("dry-run", "--format", "ndjson", "sample_events/")
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.count(b"\n") > 100
    assert _loaded(result) == set()
    assert result.stderr.decode().startswith("ld-segment: ") and "lines read" in result.stderr.decode()


def test_a_mappings_file_loads_yaml_and_a_forced_terminal_loads_rich():
    result = _run("dry-run", "--format", "ndjson", "-m", "mappings.example.yaml", "sample_events/",
                  env={"FORCE_COLOR": "1", "COLUMNS": "100"})
    assert result.returncode == 0, result.stderr.decode()
    assert {"yaml", "rich"} <= _loaded(result)
    assert "lines read" in result.stderr.decode()  # the summary table, drawn by rich
