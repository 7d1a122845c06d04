"""The few exception types a user can see. Each carries where the problem is and the exit code it means."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One located finding in a user's file: an error stops the run, a warning is only reported."""

    file: str
    line: int | None
    column: int | None
    message: str
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


class UserError(Exception):
    """An error the user can fix; printed as one line `error: <message>`, never as a traceback."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(UserError):
    """A mappings file that cannot be used: every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(str(problems[0]) if problems else "invalid mappings file")
        self.problems = problems


class InputError(UserError):
    """An explicit input argument that cannot be read (missing file, unreadable folder, empty glob)."""


class InputLineError(UserError):
    """--fail-fast: the first bad input line stops the run."""

    exit_code = 1
