"""Guard the docs: every command has help text and is documented in README."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexsim.cli import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_commands_a_newcomer_needs():
    first_block = README.split("```", 2)[1]
    assert [line.split()[:2] for line in first_block.strip().splitlines()] == [["make", "demo"], ["make", "test"]]


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_help_and_a_readme_mention(name, cli_runner):
    result = cli_runner.invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output
    assert f"flexsim {name}" in README


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_option_of_every_command_is_described(name):
    for param in cli.commands[name].params:
        if param.param_type_name == "option" and not getattr(param, "hidden", False):
            assert param.help, f"flexsim {name} {param.opts[0]} has no help text"
