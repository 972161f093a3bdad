"""The demo's last line names a console command that works as printed."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from hotmesh.cli.demo_cmds import dashboard_hint


def test_with_the_dashboard_extra_the_hint_is_the_plain_command() -> None:
    assert dashboard_hint(lambda name: True) == "hotmesh dashboard"


def test_without_the_extra_the_hint_says_how_to_install_it_first() -> None:
    hint = dashboard_hint(lambda name: name != "jinja2")
    assert "pip install 'hotmesh[dashboard]'" in hint
    assert "pip install -e '.[dashboard]'" in hint
    assert hint.endswith("then: hotmesh dashboard")


def test_the_default_check_finds_what_the_dev_extra_installs() -> None:
    # the dev extra carries the dashboard's packages: the plain command
    assert dashboard_hint() == "hotmesh dashboard"


def test_the_printed_hint_keeps_the_extras_brackets() -> None:
    # rich reads "[dashboard]" as markup: the demo prints the hint escaped
    out = Console(width=200, record=True)
    out.print(escape(dashboard_hint(lambda name: False)))
    assert "pip install 'hotmesh[dashboard]'" in out.export_text()
