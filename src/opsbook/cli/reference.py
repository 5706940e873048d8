"""The CLI reference (docs/cli.md), generated from the commands themselves.

`python -m opsbook.cli.reference > docs/cli.md` (or `make docs`) writes it; a test fails when the
file and the commands disagree, so every option is documented.
"""

from __future__ import annotations

from typing import Any

import typer

from opsbook.cli.app import app

HEADER = """# Command-line reference

Generated from `opsbook --help` by `make docs`; do not edit by hand.

Exit codes: 0 ok; 1 a problem was found or a step failed; 2 bad input; 130 interrupted.
"""


# Typer ships its own copy of click, so commands are handled by what they can do, not their type.
def _commands(group: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    found: list[tuple[list[str], Any]] = []
    if hasattr(group, "list_commands"):
        ctx = group.context_class(group, info_name=path[-1] if path else "opsbook")
        for name in sorted(group.list_commands(ctx)):
            command = group.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            found.extend(_commands(command, [*path, name]))
    else:
        found.append((path, group))
    return found


def _option_row(param: Any) -> str:
    if param.param_type_name == "argument":
        required = " (required)" if param.required else ""
        help_text = getattr(param, "help", "") or ""
        name = param.metavar or (param.name or "").upper()
        return f"| `{name}` | argument{required} | {_cell(help_text)} |"
    names = ", ".join(f"`{n}`" for n in [*param.opts, *param.secondary_opts])
    default = ""
    if (
        param.show_default is not False
        and param.default not in (None, False, (), [], "")
        and not param.is_flag
    ):
        default = f" (default: `{param.default}`)"
    return f"| {names} | option{default} | {_cell(param.help or '')} |"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render() -> str:
    root = typer.main.get_command(app)
    lines = [HEADER]
    for path, command in _commands(root, []):
        if not path:
            continue
        lines += [f"## `opsbook {' '.join(path)}`", ""]
        if command.help:
            lines += [command.help.strip().split("\n\n")[0].replace("\n", " "), ""]
        params = [p for p in command.params if p.name not in {"help"}]
        if params:
            lines += ["| name | kind | meaning |", "|---|---|---|"]
            lines += [_option_row(p) for p in params]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    typer.echo(render(), nl=False)
