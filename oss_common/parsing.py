"""TrlParser (HfArgumentParser) leaves a dataclass's `dict` fields typed `dict`, which no command-line string can
build, and reads `list` fields as separate words only; `yaml_mappings` makes both read YAML/JSON as well, as in the
recipes: `--languages '{python: 10, rust: 2}'`, `--variants '[python, no_noisy]'`, `--variants '[]'`."""

from __future__ import annotations

import argparse


def mapping(text: str) -> dict:
    """A YAML/JSON mapping from the command line."""
    import yaml

    value = yaml.safe_load(text)
    if not isinstance(value, dict):
        raise ValueError(f"expected a mapping such as '{{python: 100}}', got {text!r}")
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
