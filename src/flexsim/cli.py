"""The ``flexsim`` command: thin Click commands over plain library functions."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any, Callable

import click
from dotenv import load_dotenv

from flexsim import __version__, options
from flexsim.errors import FlexsimError


def reports_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a FlexsimError into a one-line ``Error: …`` and its exit code (1, or 2 for bad config).

    With ``flexsim -v`` the traceback is logged too.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FlexsimError as exc:
            logging.getLogger("flexsim").debug("command failed", exc_info=True)
            error = click.ClickException(str(exc))
            error.exit_code = exc.exit_code
            raise error from exc

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="flexsim")
@click.option("-v", "--verbose", is_flag=True, help="Log debug details, including tracebacks.")
def cli(verbose: bool) -> None:
    """Make a Twilio Flex contact center look alive.

    Generate a simulation config, deploy it to a TaskRouter workspace (real or the
    local emulator), then run simulated agents and customers against it.
    Settings come from options, then environment variables, then a .env file in
    the working directory.
    """
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    load_dotenv(Path.cwd() / ".env", override=False)


@cli.command()
@options.domaindir_option
@options.cfgdir_option
@click.option("--locale", default="en-us", show_default=True, metavar="NAME|PATH.json",
              help="Locale defaults: a name such as en-us or es-es, looked up in --domaindir first and then "
                   "among the built-in ones, or the path of a JSON file.")
@options.seed_option
@reports_errors
def genconfig(domaindir: str, cfgdir: str, locale: str, seed: int | None) -> None:
    """Generate the config files (agents, queues, workflow) from the domain.

    Reads the locale defaults and DOMAINDIR/domain.json if present, validates both,
    and writes metadata.json, workers.json, queues.json and workflow.json into CFGDIR,
    all or none.

    Example: flexsim genconfig --domaindir . --seed 42
    """
    from flexsim.genconfig import generate_config, summary

    rng, used = options.make_rng(seed)
    result = generate_config(domaindir, cfgdir, rng, used, locale=locale)
    click.echo(summary(result, seed_given=seed is not None))


@cli.command()
@click.option("--config", "name", type=click.Choice(["domain", "metadata", "workers", "queues", "workflow"]),
              default="domain", show_default=True,
              help="Which schema: the domain file, or one of the config files genconfig writes.")
def schema(name: str) -> None:
    """Print a JSON Schema (draft 2020-12), e.g. for an editor to check domain.json.

    Example: flexsim schema > domain.schema.json
    """
    from importlib.resources import files

    click.echo((files("flexsim") / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8"), nl=False)

