"""The ``cart-registry`` command group.

Commands are loaded lazily by name so that ``cart-registry --help`` imports only click and
the package itself (no DuckDB, Arrow, Pandera, lifelines or matplotlib at start-up). A single
error handler turns the project's known errors into one line and an exit code.
"""

from __future__ import annotations

import importlib
import importlib.util
import traceback
from typing import Any

import click

from cart_registry import __version__
from cart_registry.cli.options import AppContext, shared_options
from cart_registry.errors import CartRegistryError, ExitCode
from cart_registry.runtime import configure_allocator

configure_allocator()  # before any command imports polars

#: command name -> "module:attribute"; a module that is not present is simply not listed
COMMANDS: dict[str, str] = {
    "schema": "cart_registry.cli.cmd_schema:schema",
    "synth": "cart_registry.cli.cmd_synth:synth",
    "mapping": "cart_registry.cli.cmd_mapping:mapping",
    "ingest": "cart_registry.cli.cmd_ingest:ingest",
    "validate": "cart_registry.cli.cmd_validate:validate",
    "rules": "cart_registry.cli.cmd_validate:rules",
    "queries": "cart_registry.cli.cmd_validate:queries",
    "load": "cart_registry.cli.cmd_warehouse:load",
    "sql": "cart_registry.cli.cmd_warehouse:sql",
    "endpoints": "cart_registry.cli.cmd_warehouse:endpoints",
    "export": "cart_registry.cli.cmd_warehouse:export",
    "report": "cart_registry.cli.cmd_report:report",
    "run": "cart_registry.cli.cmd_run:run",
    "deidentify": "cart_registry.cli.cmd_deidentify:deidentify",
}


def _available(name: str) -> bool:
    module = COMMANDS[name].split(":")[0]
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


class RegistryGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(n for n in COMMANDS if _available(n))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not _available(cmd_name):
            return None
        module, attr = COMMANDS[cmd_name].split(":")
        cmd = getattr(importlib.import_module(module), attr)
        assert isinstance(cmd, click.Command)
        return cmd

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except CartRegistryError as exc:
            app = ctx.find_object(AppContext)
            if app is not None and app.debug:
                traceback.print_exc()
            click.secho(f"error: {exc}", fg="red", err=True)
            ctx.exit(int(exc.exit_code))
        except KeyboardInterrupt:
            click.secho("interrupted", fg="red", err=True)
            ctx.exit(int(ExitCode.USAGE_OR_INTERNAL))
        except Exception as exc:  # an internal error: one line, traceback only on --debug
            app = ctx.find_object(AppContext)
            if app is not None and app.debug:
                traceback.print_exc()
            click.secho(
                f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)",
                fg="red",
                err=True,
            )
            ctx.exit(int(ExitCode.USAGE_OR_INTERNAL))


@click.group(
    cls=RegistryGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="cart-registry")
@shared_options
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Harmonize multi-site CAR T registry exports into validated canonical tables,
    study endpoints and survival estimates.

    Exit codes: 0 ok, 1 data failed validation, 2 usage or internal error.

    \b
    Example:
      cart-registry run sample_exports      # ingest, validate, load, endpoints, report
      cart-registry schema --format markdown
    """
    ctx.ensure_object(AppContext)


def main() -> None:  # pragma: no cover - console entry for environments without the script
    cli(prog_name="cart-registry")


if __name__ == "__main__":  # pragma: no cover
    main()
