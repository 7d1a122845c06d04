"""Segment's mapping-kit: field directives, the path language, the mapping validator and the
`@template`/`@liquid` renderers, compiled once into closures (mapping-kit.md sections 1-5)."""

from .directives import (
    MappingError,
    compile_field_resolvers,
    compile_mapping,
    directive_sources,
    event_roots,
    is_directive,
    remove_undefined,
    transform,
)
from .paths import get_path, lookup, split_path
from .template import compile_template, render_template
from .validate import DIRECTIVES, ROOT_DIRECTIVE_KEY, MappingProblem, validate_mapping

__all__ = [
    "DIRECTIVES",
    "ROOT_DIRECTIVE_KEY",
    "MappingError",
    "MappingProblem",
    "compile_field_resolvers",
    "compile_mapping",
    "compile_template",
    "directive_sources",
    "event_roots",
    "get_path",
    "is_directive",
    "lookup",
    "remove_undefined",
    "render_template",
    "split_path",
    "transform",
    "validate_mapping",
]
