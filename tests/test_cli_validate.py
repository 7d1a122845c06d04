"""`ld-segment validate`: every problem of a mappings file at once, each with file:line:column."""

from __future__ import annotations

from pathlib import Path

from conftest import ROOT, run_cli

BROKEN = """\
version: 1
mapings: []
settings:
  client_side_id: ${LD_SEGMENT_TEST_UNSET_VARIABLE}
mappings:
  - name: Orders
    trigger: type = "track
    action: trackEvent
  - name: Orders
    trigger: type = "track"
    action: trackEvnt
  - name: Fields
    trigger: type = "track"
    action: trackEvent
    fields:
      event_nme: {"@path": "$.event"}
      user_key: {"@paht": "$.userId"}
"""


def _validate(tmp_path: Path, text: str):
    path = tmp_path / "mappings.yaml"
    path.write_text(text)
    return path, run_cli(["validate", "-m", str(path)])


def test_example_mappings_file_is_valid():
    result = run_cli(["validate", "-m", str(ROOT / "mappings.example.yaml")])
    assert result.exit_code == 0, result.stderr
    assert "ok:" in result.stdout and "3 mappings, 4 tests" in result.stdout


def test_init_writes_a_starter_file_that_validates(tmp_path):
    target = tmp_path / "m.yaml"
    assert run_cli(["init", str(target)]).exit_code == 0
    assert run_cli(["validate", "-m", str(target)]).exit_code == 0
    again = run_cli(["init", str(target)])
    assert again.exit_code == 2 and "already exists" in again.stderr


def test_broken_file_reports_every_problem_with_its_location(tmp_path):
    path, result = _validate(tmp_path, BROKEN)
    assert result.exit_code == 2
    err = " ".join(result.stderr.split())  # rich may wrap long lines
    expected = [
        f"{path}:2:1: unknown key 'mapings' in the mappings file (did you mean 'mappings'?)",
        f"{path}:4:19: environment variable LD_SEGMENT_TEST_UNSET_VARIABLE is not set",
        f"{path}:7:",  # the trigger's FQL error points inside the trigger
        "trigger does not parse",
        f"{path}:9:11: duplicate mapping name 'Orders'",
        f"{path}:11:13: unknown action 'trackEvnt' (did you mean 'trackEvent'?)",
        f"{path}:16:7: action trackEvent has no field 'event_nme' (did you mean 'event_name'?)",
        f"{path}:17:17: /user_key has an invalid directive: @paht.",
    ]
    for fragment in expected:
        assert fragment in err, fragment
    assert "Traceback" not in result.stderr


def test_yaml_syntax_error_is_located(tmp_path):
    path, result = _validate(tmp_path, "version: 1\nmappings:\n  - name: [unclosed\n")
    assert result.exit_code == 2
    assert f"{path}:" in result.stderr and "YAML syntax" in result.stderr


def test_more_than_fifty_mappings_is_an_error(tmp_path):
    entries = "".join(f"  - {{name: m{i}, trigger: type = \"track\", action: trackEvent}}\n" for i in range(51))
    _, result = _validate(tmp_path, "version: 1\nmappings:\n" + entries)
    assert result.exit_code == 2
    assert "at most 50" in result.stderr


def test_missing_mappings_file_is_a_usage_error(tmp_path):
    result = run_cli(["validate", "-m", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "cannot read mappings file" in result.stderr


def test_dry_run_refuses_an_invalid_mappings_file_before_reading_events(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(BROKEN)
    result = run_cli(["dry-run", "-m", str(path), "--format", "ndjson", "-"], input=b"not json\n")
    assert result.exit_code == 2
    assert result.stdout == ""


def test_events_host_is_checked_with_segments_settings_validation(tmp_path):
    _, result = _validate(tmp_path, 'version: 1\nsettings:\n  events_host: "not a host!"\nmappings:\n'
                                    '  - {name: a, trigger: type = "track", action: trackEvent}\n')
    assert result.exit_code == 2
    assert ":3:16: settings.events_host 'not a host!': LaunchDarkly events host name must be a valid hostname" \
        in result.stderr
