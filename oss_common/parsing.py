"""What the entry points add to TrlParser (HfArgumentParser).

- `yaml_mappings`: a dataclass's `dict` fields stay typed `dict`, which no command-line string can build, and its
  `list` fields read separate words only; both read YAML/JSON as well, as in the recipes:
  `--languages '{python: 10, rust: 2}'`, `--variants '[python, no_noisy]'`, `--variants '[]'`.
- `parse`: an unknown recipe key or `--option` is named with its close matches ("did you mean `max_lines`?") before
  the parser sees it, instead of the parser's internals.
"""

from __future__ import annotations

import argparse
import difflib
import re


def did_you_mean(name: str, known, prefix: str = "") -> str:
    """ " (did you mean `max_lines`?)" for the known names closest to `name`, or ""."""
    matches = difflib.get_close_matches(name, sorted(known), n=2, cutoff=0.6)
    return f" (did you mean {' or '.join(f'`{prefix}{m}`' for m in matches)}?)" if matches else ""


def missing_space(mapping: dict) -> str | None:
    """How to fix `{python:2}` (YAML reads `python:2` as one name with no value), or None when no key looks so."""
    for key, value in mapping.items():
        match = re.fullmatch(r"\s*([^:\s]+):(\S+)\s*", str(key))
        if value is None and match:
            name, count = match.groups()
            return f"`{key}` has no value: YAML needs a space after the colon, write {{{name}: {count}}}"
    return None


def mapping(text: str) -> dict:
    """A YAML/JSON mapping from the command line (argparse shows an ArgumentTypeError's message as it is)."""
    from argparse import ArgumentTypeError

    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ArgumentTypeError(f"{text!r} is not YAML: {str(err).splitlines()[0]}") from err
    if not isinstance(value, dict):
        raise ArgumentTypeError(f"expected a mapping such as '{{python: 100}}', got {text!r}")
    fix = missing_space(value)
    if fix:
        raise ArgumentTypeError(fix)
    return value


def sequence(words: list[str]) -> list:
    """A list from the command line: YAML/JSON (`'[python, no_noisy]'`, `'[]'`) or words (`python no_noisy`)."""
    if not words or not words[0].lstrip().startswith("["):
        return list(words)
    import yaml

    text = " ".join(words)
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        value = None
    if not isinstance(value, list) or any(isinstance(item, (list, dict)) for item in value):
        raise ValueError(f"expected a list such as '[python, no_noisy]', got {text!r}")
    return value


class _YamlList(argparse._StoreAction):
    """Stores `sequence(values)`, each item read by the field's own type."""

    item_type = str

    def __call__(self, parser, namespace, values, option_string=None):
        try:
            items = [self.item_type(str(item)) for item in sequence(values)]
        except (ValueError, TypeError) as err:
            raise argparse.ArgumentError(self, str(err)) from err
        setattr(namespace, self.dest, items)


def yaml_mappings(parser):
    """`parser` with every `dict` field read by `mapping` and every `list` field by `sequence`."""
    for action in parser._actions:
        if action.type is dict:
            action.type = mapping
        elif type(action) is argparse._StoreAction and action.nargs == "+" and action.choices is None:
            action.__class__ = _YamlList
            action.item_type, action.type = action.type or str, None
    return parser


def check_names(parser, argv: list[str]) -> None:
    """A ValueError naming the first unknown key of the `--config` file or `--option` of `argv` and its close
    matches."""
    import yaml

    fields = {action.dest for action in parser._actions} - {"help"}
    options = [option for option in parser._option_string_actions if option.startswith("--")]
    spelled = [option[2:] for option in options if "-" not in option[2:]]  # not HfArgumentParser's --max-lines aliases
    if "--config" in argv[:-1]:
        path = argv[argv.index("--config") + 1]
        with open(path) as file:
            recipe = yaml.safe_load(file)
        if isinstance(recipe, dict):
            for key in recipe:
                if key != "env" and key not in fields:
                    raise ValueError(f"{path}: unknown field `{key}`{did_you_mean(str(key), fields)}")
    for arg in argv:
        if not arg.startswith("--") or arg == "--config":
            continue
        option = arg.split("=", 1)[0]
        # argparse also takes an unambiguous prefix (`--temp` for `--temperature`).
        if option not in options and len([o for o in options if o.startswith(option)]) != 1:
            raise ValueError(f"unknown option `{option}`{did_you_mean(option[2:], spelled, '--')}")


def parse(parser, argv: list[str] | None = None) -> tuple:
    """`parser.parse_args_and_config(argv)`, after refusing unknown names with a ValueError that names them."""
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    check_names(parser, argv)
    return parser.parse_args_and_config(argv)
