"""The ``flexsim`` command: thin Click commands over plain library functions."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any, Callable

import click
from dotenv import load_dotenv

from flexsim import __version__
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
