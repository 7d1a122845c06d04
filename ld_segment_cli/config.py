"""The mappings file: YAML with positions → validated, compiled destination (triggers and mappings as closures).
All problems are collected with file:line:column; a file with any error is refused before an event is read."""

from __future__ import annotations

import difflib
import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import actions, fql
from .errors import ConfigError, Problem
from .mapping_kit import validate_mapping

if TYPE_CHECKING:
    from .yamlpos import Located

MAX_MAPPINGS = 50  # Segment's limit of subscriptions per destination instance
TOP_KEYS = ("version", "settings", "mappings", "tests")
SETTINGS_KEYS = ("client_side_id", "events_host")
MAPPING_KEYS = ("name", "trigger", "action", "enabled", "fields")
TEST_KEYS = ("name", "event", "expect")
PRESETS_NAME = "<presets>"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")  # ${VAR} or ${VAR:-default}


@dataclass(frozen=True, slots=True)
class Mapping:
    """One compiled subscription: a trigger and the action it builds."""

    index: int
    name: str
    action: str
    trigger: fql.Trigger
    mapping: dict[str, Any]  # the effective mapping: action defaults merged with the file's fields
    build: Callable[[Any], dict[str, Any]]  # event -> LaunchDarkly event; raises actions.MapError
    emit: Callable[[dict[str, Any]], actions.Emitted]  # the same, as (bytes, key, creationDate): the hot path


@dataclass(frozen=True, slots=True)
class TestCase:
    name: str
    event: Any
    expect: list[Any]
    line: int | None


@dataclass(frozen=True, slots=True)
class Destination:
    """A loaded mappings file (or the presets): settings, enabled mappings in file order, embedded tests."""

    path: str
    mappings: tuple[Mapping, ...]
    settings: dict[str, str] = field(default_factory=dict)
    tests: tuple[TestCase, ...] = ()
    warnings: tuple[Problem, ...] = ()
    digest: str = ""  # sha256 of the file bytes (or of the presets' definition): ties checkpoints to mappings


def _suggest(word: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class _Checker:
    """Collects located problems while walking the loaded YAML."""

    def __init__(self, file: str, located: Located) -> None:
        self.file = file
        self.located = located
        self.problems: list[Problem] = []

    def at(self, path: tuple[Any, ...], message: str, *, key: bool = False, severity: str = "error",
           column_offset: int | None = None) -> None:
        pos = self.located.where(path, key=key)
        line = pos.line if pos else None
        col = pos.column if pos else None
        if pos is not None and column_offset is not None:
            col = pos.column + column_offset - 1 + (1 if pos.style in ('"', "'") else 0)
        self.problems.append(Problem(self.file, line, col, message, severity))

    def unknown_keys(self, obj: dict[str, Any], path: tuple[Any, ...], allowed: tuple[str, ...], what: str) -> None:
        for key in obj:
            if key not in allowed:
                self.at((*path, key), f"unknown key '{key}' in {what}{_suggest(key, allowed)}", key=True)


def _expand_settings(check: _Checker, settings: Any) -> dict[str, str]:
    if settings is None:
        return {}
    if not isinstance(settings, dict):
        check.at(("settings",), "settings must be a mapping of key: value")
        return {}
    check.unknown_keys(settings, ("settings",), SETTINGS_KEYS, "settings")
    out: dict[str, str] = {}
    for key in SETTINGS_KEYS:
        if key not in settings or settings[key] is None:
            continue
        value = settings[key]
        if not isinstance(value, str | int) or isinstance(value, bool):
            check.at(("settings", key), f"settings.{key} must be a string")
            continue
        text = str(value)
        for m in _VAR.finditer(text):
            if m.group(1) not in os.environ and m.group(2) is None:
                check.at(("settings", key), f"environment variable {m.group(1)} is not set (used by settings.{key}; "
                         f"write ${{{m.group(1)}:-}} to allow it to be unset)")
        out[key] = _VAR.sub(lambda m: os.environ.get(m.group(1), m.group(2) or ""), text)
    host = out.get("events_host")
    if host:  # Segment's own settings validation (LD2), with its message
        for message in actions.validate_settings({"client_id": out.get("client_side_id") or "-",
                                                  "events_host_name": host}):
            check.at(("settings", "events_host"), f"settings.events_host {host!r}: {message}")
    return out


def _check_fields(check: _Checker, path: tuple[Any, ...], action: str, fields: Any) -> dict[str, Any] | None:
    if fields is None:
        return {}
    if not isinstance(fields, dict):
        check.at(path, "fields must be a mapping of field name to value or directive")
        return None
    known = tuple(f.key for f in actions.ACTIONS[action].fields)
    ok = True
    for key in fields:
        if key not in known:
            check.at((*path, key), f"action {action} has no field '{key}'{_suggest(key, known)}; "
                     f"its fields are {', '.join(known)}", key=True)
            ok = False
    for problem in validate_mapping(fields):
        hint = f" ({problem.hint})" if problem.hint else ""
        check.at((*path, *problem.path), f"{problem.segment_message()}{hint}")
        ok = False
    return fields if ok else None


def _check_trigger(check: _Checker, path: tuple[Any, ...], name: str, text: Any) -> fql.Trigger | None:
    if not isinstance(text, str) or not text.strip():
        check.at(path, f"mapping '{name}': trigger must be a non-empty FQL string, e.g. type = \"track\"")
        return None
    trigger = fql.compile_trigger(text)
    if trigger.error is not None:
        check.at(path, f"mapping '{name}': trigger does not parse (Segment: {trigger.error.message}) "
                 f"at column {trigger.error.column} of: {text}", column_offset=trigger.error.column)
        return None
    for warning in fql.lint(text):
        check.at(path, f"mapping '{name}': trigger: {warning.message}", severity="warning",
                 column_offset=warning.column)
    return trigger


def _check_mappings(check: _Checker, raw: Any, segment_compat: bool) -> list[Mapping]:
    if not isinstance(raw, list) or not raw:
        check.at(("mappings",), "mappings must be a list of 1 to 50 mappings")
        return []
    if len(raw) > MAX_MAPPINGS:
        check.at(("mappings", MAX_MAPPINGS),
                 f"{len(raw)} mappings: Segment allows at most {MAX_MAPPINGS} per destination")
    compiled: list[Mapping] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(raw):
        path = ("mappings", i)
        if not isinstance(entry, dict):
            check.at(path, "each mapping must be a mapping with name, trigger and action")
            continue
        check.unknown_keys(entry, path, MAPPING_KEYS, "a mapping")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            check.at((*path, "name") if "name" in entry else path, "mapping needs a non-empty 'name'")
            name = f"#{i + 1}"
        elif name in seen:
            check.at((*path, "name"), f"duplicate mapping name '{name}' (first used by mapping #{seen[name] + 1})")
        else:
            seen[name] = i
        enabled = entry.get("enabled", True)
        if not isinstance(enabled, bool):
            check.at((*path, "enabled"), "enabled must be true or false")
        action = entry.get("action")
        if "action" not in entry:
            check.at(path, f"mapping '{name}' needs an 'action': one of {', '.join(actions.ACTIONS)}")
        elif action not in actions.ACTIONS:
            check.at((*path, "action"), f"unknown action '{action}'{_suggest(str(action), list(actions.ACTIONS))}; "
                     f"expected one of {', '.join(actions.ACTIONS)}")
            action = None
        if "trigger" not in entry:
            check.at(path, f"mapping '{name}' needs a 'trigger' (Segment FQL, e.g. type = \"track\")")
            trigger = None
        else:
            trigger = _check_trigger(check, (*path, "trigger"), name, entry["trigger"])
        fields = _check_fields(check, (*path, "fields"), action, entry.get("fields")) if action else None
        if trigger is None or fields is None or action is None or enabled is False:
            continue
        effective = actions.effective_mapping(action, fields)
        compiled.append(_compile_mapping(len(compiled), name, action, trigger, effective, segment_compat))
    return compiled


def _compile_mapping(index: int, name: str, action: str, trigger: fql.Trigger, effective: dict[str, Any],
                     segment_compat: bool) -> Mapping:
    return Mapping(index, name, action, trigger, effective,
                   actions.compile_action(action, effective, segment_compat=segment_compat),
                   actions.compile_emitter(action, effective, segment_compat=segment_compat))


def _check_tests(check: _Checker, raw: Any) -> list[TestCase]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        check.at(("tests",), "tests must be a list of {name, event, expect}")
        return []
    tests: list[TestCase] = []
    for i, entry in enumerate(raw):
        path = ("tests", i)
        if not isinstance(entry, dict):
            check.at(path, "each test must be a mapping with name, event and expect")
            continue
        check.unknown_keys(entry, path, TEST_KEYS, "a test")
        name = entry.get("name") if isinstance(entry.get("name"), str) else f"test #{i + 1}"
        if "event" not in entry:
            check.at(path, f"test '{name}' needs an 'event'")
            continue
        expect = entry.get("expect", [])
        if expect is None:
            expect = []
        if not isinstance(expect, list):
            check.at((*path, "expect"), f"test '{name}': expect must be a list of outgoing events (may be empty)")
            continue
        pos = check.located.where(path)
        tests.append(TestCase(name, entry["event"], expect, pos.line if pos else None))
    return tests


def check_file(path: str, *, segment_compat: bool = False) -> tuple[Destination | None, list[Problem]]:
    """Load and validate a mappings file. Returns the destination (None when any error) and all problems."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return None, [Problem(path, None, None, f"cannot read mappings file: {exc.strerror or exc}")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, [Problem(path, None, None, f"mappings file is not UTF-8: {exc.reason} at byte {exc.start}")]
    from .yamlpos import YamlSyntaxError, load  # PyYAML loads only when a mappings file is read

    try:
        located = load(text)
    except YamlSyntaxError as exc:
        return None, [Problem(path, exc.line, exc.column, f"YAML syntax: {exc.message}")]
    check = _Checker(path, located)
    for dup_path, pos in located.duplicates:
        check.problems.append(Problem(path, pos.line, pos.column, f"duplicate key '{dup_path[-1]}'"))
    doc = located.data
    if not isinstance(doc, dict):
        check.at((), "a mappings file is a YAML mapping with 'version' and 'mappings' (see `ld-segment init`)")
        return None, check.problems
    check.unknown_keys(doc, (), TOP_KEYS, "the mappings file")
    if doc.get("version", 1) != 1:
        check.at(("version",), f"unsupported version {doc.get('version')!r}: this tool reads version 1")
    settings = _expand_settings(check, doc.get("settings"))
    if "mappings" not in doc:
        check.at((), "the file has no 'mappings' list")
        mappings: list[Mapping] = []
    else:
        mappings = _check_mappings(check, doc["mappings"], segment_compat)
    tests = _check_tests(check, doc.get("tests"))
    problems = sorted(check.problems, key=lambda p: (p.line or 0, p.column or 0))
    if any(p.severity == "error" for p in problems):
        return None, problems
    warnings = tuple(p for p in problems if p.severity == "warning")
    digest = hashlib.sha256(data).hexdigest()
    return Destination(path, tuple(mappings), settings, tuple(tests), warnings, digest), problems


def load_destination(path: str | None, *, segment_compat: bool = False) -> Destination:
    """The destination to run: the mappings file, or Segment's two presets when no file is given."""
    if path is None:
        return presets(segment_compat=segment_compat)
    destination, problems = check_file(path, segment_compat=segment_compat)
    if destination is None:
        raise ConfigError([p for p in problems if p.severity == "error"])
    return destination


def presets(*, segment_compat: bool = False) -> Destination:
    """Segment's presets with their default fields: what a new LaunchDarkly destination gets."""
    mappings = []
    for i, preset in enumerate(actions.PRESETS):
        effective = actions.default_mapping(preset.action)
        mappings.append(_compile_mapping(i, preset.name, preset.action, fql.compile_trigger(preset.trigger),
                                         effective, segment_compat))
    digest = hashlib.sha256(repr([(p.name, p.trigger, p.action) for p in actions.PRESETS]).encode()).hexdigest()
    return Destination(PRESETS_NAME, tuple(mappings), {}, (), (), digest)

