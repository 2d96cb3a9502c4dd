"""The Magicoder training prompt (REFERENCE.md §3), verbatim, as a chat template.

Rendering `[{"role": "user", "content": I}, {"role": "assistant", "content": R}]` gives exactly

    You are an exceptionally intelligent coding assistant that consistently delivers accurate and reliable responses to user instructions.

    @@ Instruction
    I

    @@ Response
    R<eos>

and `add_generation_prompt=True` ends the text after `@@ Response\\n`, so any `apply_chat_template` user gets the
training format. A system message, if given, replaces the fixed first line.

`load_chat_template` turns a `chat_template` setting (generate.py, eval, the backends) into the template text.
"""  # noqa: E501

import os

SYSTEM = (
    "You are an exceptionally intelligent coding assistant that consistently delivers accurate and reliable "
    "responses to user instructions."
)
PROMPT = SYSTEM + "\n\n@@ Instruction\n{instruction}\n\n@@ Response\n{response}"
OSS_INSTRUCTION = "Write a solution to the following coding problem:\n{problem}"

CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' -%}"
    "{{- messages[0]['content'] + '\\n\\n' -}}"
    "{%- set messages = messages[1:] -%}"
    "{%- else -%}"
    "{{- '" + SYSTEM + "' + '\\n\\n' -}}"
    "{%- endif -%}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'user' -%}"
    "{{- '@@ Instruction\\n' + message['content'] + '\\n\\n' -}}"
    "{%- elif message['role'] == 'assistant' -%}"
    "{{- '@@ Response\\n' + message['content'] + eos_token -}}"
    "{%- if not loop.last -%}{{- '\\n\\n' -}}{%- endif -%}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '@@ Response\\n' -}}{%- endif -%}"
)


def load_chat_template(value: str | None) -> str | None:
    """A chat template given as "magicoder" (CHAT_TEMPLATE), a path to a .jinja file, or a Jinja string; None or
    "model" keeps the tokenizer's own (None is returned). An unreadable file raises OSError."""
    if value is None or value == "model":
        return None
    if value == "magicoder":
        return CHAT_TEMPLATE
    if value.endswith(".jinja") or ("{" not in value and os.path.sep in value):
        with open(value, encoding="utf-8") as f:
            return f.read()
    return value
