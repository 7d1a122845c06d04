"""Modules loaded on first use. A command pays at start-up only for what it runs: the hot path (NDJSON out,
plain stderr) never touches rich, YAML or httpx, which together cost more than half of a bare start."""

from __future__ import annotations

import importlib.util
import os
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    """The module, loaded on first attribute access (importlib's LazyLoader); the module itself when it
    is already loaded."""
    found = sys.modules.get(name)
    if found is not None:
        return found
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"no module named {name!r}", name=name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def stderr_is_terminal() -> bool:
    """What rich's Console(stderr=True).is_terminal answers, without loading rich for the common case: the
    environment variables rich honours (FORCE_COLOR, TTY_COMPATIBLE, ...) leave the answer to rich."""
    if any(name in os.environ for name in ("FORCE_COLOR", "TTY_COMPATIBLE")):
        from rich.console import Console

        return Console(stderr=True).is_terminal
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed
        return False
