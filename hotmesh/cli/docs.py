"""Render the CLI reference (Markdown) from the click command tree.

Regenerate the committed copy with
``python -m hotmesh.cli.docs > docs/reference/cli.md``.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import click

from hotmesh.cli import _register, cli

REGENERATE = "python -m hotmesh.cli.docs > docs/reference/cli.md"

_HEADER = f"""\
# CLI reference

<!-- Generated from the click command tree; do not edit. Regenerate with:
     {REGENERATE} -->

`hotmesh` (also `python -m hotmesh`) is installed with the package. Every
option can also be set through the environment variable shown next to it
(`HOTMESH_*`); a command-line option wins over its variable. Commands that use
a database print one line on stderr naming it: the masked DSN, or the embedded
PostgreSQL's data directory. Errors print one line, `error: ...`, and exit 1
(usage errors exit 2); `--debug` shows the traceback instead.
"""


def walk(
    command: click.Command, ctx: click.Context
) -> Iterator[tuple[click.Command, click.Context]]:
    """*command* and every subcommand, depth first, in name order."""
    yield command, ctx
    if isinstance(command, click.Group):
        for name in sorted(command.list_commands(ctx)):
            sub = command.get_command(ctx, name)
            if sub is None or sub.hidden:
                continue
            yield from walk(sub, click.Context(sub, info_name=name, parent=ctx))


def env_var(option: click.Option, ctx: click.Context) -> str | None:
    """The environment variable an option reads (explicit, or click's automatic one)."""
    if option.envvar:
        return option.envvar if isinstance(option.envvar, str) else option.envvar[0]
    if option.allow_from_autoenv and ctx.auto_envvar_prefix and option.name:
        return f"{ctx.auto_envvar_prefix}_{option.name.upper()}"
    return None


def documented_options(
    command: click.Command, ctx: click.Context
) -> list[click.Option]:
    """The options worth a row: all but --help and --version."""
    return [
        p
        for p in command.get_params(ctx)
        if isinstance(p, click.Option)
        and "--help" not in p.opts
        and "--version" not in p.opts
    ]


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _default(option: click.Option) -> str:
    if option.is_flag and not option.secondary_opts:
        return ""
    default = option.to_info_dict().get("default")
    if default is None or default == () or default is False:
        return ""
    if default is True and option.secondary_opts:
        return f"`{option.opts[0]}`"
    return f"`{default}`"


def _section(command: click.Command, ctx: click.Context) -> list[str]:
    path = ctx.command_path
    lines = [f"## `{path}`", ""]
    pieces = " ".join(command.collect_usage_pieces(ctx))
    lines += ["```", f"{path} {pieces}".rstrip(), "```", ""]
    help_text = inspect.cleandoc(command.help or "")
    if help_text:
        lines += [help_text.replace("\b\n", ""), ""]
    arguments = [p for p in command.get_params(ctx) if isinstance(p, click.Argument)]
    if arguments:
        names = ", ".join(f"`{a.make_metavar(ctx)}`" for a in arguments)
        lines += [f"Arguments: {names}.", ""]
    options = documented_options(command, ctx)
    if options:
        lines += ["| option | env var | default | description |", "|---|---|---|---|"]
        for option in options:
            flags = ", ".join(f"`{o}`" for o in [*option.opts, *option.secondary_opts])
            if not option.is_flag and option.type.name != "boolean":
                flags += f" `{option.make_metavar(ctx)}`"
            env = env_var(option, ctx)
            lines.append(
                f"| {flags} | {f'`{env}`' if env else ''} | {_default(option)} "
                f"| {_cell(option.help or '')} |"
            )
        lines.append("")
    return lines


def render() -> str:
    """The whole Markdown reference."""
    _register()
    root = click.Context(cli, info_name="hotmesh", **cli.context_settings)
    out = [_HEADER]
    for command, ctx in walk(cli, root):
        if isinstance(command, click.Group) and command is not cli:
            # a group's own section lists its help; its commands follow
            out += [
                f"## `{ctx.command_path}`",
                "",
                inspect.cleandoc(command.help or ""),
                "",
            ]
            continue
        out += _section(command, ctx)
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
