"""TrlParser (HfArgumentParser) leaves a dataclass's `dict` fields typed `dict`, which no command-line string can
build; `yaml_mappings` makes them read YAML/JSON instead, as in the recipes: `--languages '{python: 10, rust: 2}'`."""

from __future__ import annotations


def mapping(text: str) -> dict:
    """A YAML/JSON mapping from the command line."""
    import yaml

    value = yaml.safe_load(text)
    if not isinstance(value, dict):
        raise ValueError(f"expected a mapping such as '{{python: 100}}', got {text!r}")
    return value


def yaml_mappings(parser):
    """`parser` with every `dict` field read by `mapping`."""
    for action in parser._actions:
        if action.type is dict:
            action.type = mapping
    return parser
