"""Errors the project knows how to explain, and the exit codes they map to.

Every error a user can cause (bad input, bad mapping, bad option) is a ``CartRegistryError``
with a one-line message naming the file, row and field where there is one. The CLI's single
error handler prints that line and exits with the error's code; anything else is a bug and
is reported as an internal error (exit 2) with a hint to rerun with ``--debug``.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    #: the data were read but failed validation (a fatal or error rule over its threshold)
    DATA_FAILED = 1
    #: usage error, bad configuration, unreadable input or an internal error
    USAGE_OR_INTERNAL = 2


class CartRegistryError(Exception):
    """Base class of errors that carry a user-facing one-line message."""

    exit_code: ExitCode = ExitCode.USAGE_OR_INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} (hint: {self.hint})"


class ConfigError(CartRegistryError):
    """A project file (schema, mapping, settings, rule catalog) is invalid."""


class InputError(CartRegistryError):
    """A submitted file cannot be read at all (encoding, structure, size)."""


class ProjectError(CartRegistryError):
    """The project folder or registry is missing, locked or inconsistent."""


class DataValidationFailed(CartRegistryError):
    """Validation ran and the data failed (a fatal or error rule over its threshold)."""

    exit_code = ExitCode.DATA_FAILED
