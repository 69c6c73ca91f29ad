"""Options shared by every command, and the context object they fill."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from cart_registry.project import Project

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class AppContext:
    project_dir: str | None = None
    db: str | None = None
    json: bool = False
    debug: bool = False

    def project(self) -> Project:
        from cart_registry.project import Project  # pydantic/yaml are not needed for --help

        return Project.find(self.project_dir, self.db)

    def emit_json(self, payload: Any) -> None:
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False, default=str))


def _store(field: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    # Shared options may be given before or after the command name; either sets the context.
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        app = ctx.ensure_object(AppContext)
        if value not in (None, False):
            setattr(app, field, value)
        return value

    return callback


def shared_options(func: F) -> F:
    """``--project-dir``, ``--db``, ``--json`` and ``--debug`` on every command."""
    opts = [
        click.option(
            "--project-dir",
            type=click.Path(file_okay=False, path_type=str),
            expose_value=False,
            callback=_store("project_dir"),
            help="Registry project folder (default: $CART_REGISTRY_PROJECT_DIR or the current folder).",
        ),
        click.option(
            "--db",
            type=click.Path(dir_okay=False, path_type=str),
            expose_value=False,
            callback=_store("db"),
            help="DuckDB registry file (default: registry/registry.duckdb in the project).",
        ),
        click.option(
            "--json", "json_", is_flag=True, expose_value=False, callback=_store("json"),
            help="Print machine-readable JSON.",
        ),
        click.option(
            "--debug", is_flag=True, expose_value=False, callback=_store("debug"),
            help="Show the traceback of an internal error.",
        ),
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func


pass_app = click.make_pass_decorator(AppContext, ensure=True)


def path_arg(name: str, **kwargs: Any) -> Callable[[F], F]:
    return click.argument(name, type=click.Path(path_type=Path, **kwargs))


def is_tty() -> bool:
    return sys.stderr.isatty()
