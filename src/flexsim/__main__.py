"""Allow ``python -m flexsim``."""

from flexsim.cli import cli

cli(prog_name="flexsim")
