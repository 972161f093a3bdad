"""The demo's last line names a console command that works as printed."""

from __future__ import annotations

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
