"""A chat demo of a trained model in the browser, like the Magicoder paper's Hugging Face Space.

    pip install -e '.[demo]'
    python -m demo.app --model_name_or_path out/magicoder-s-ds-6.7b                 # http://127.0.0.1:7860
    python -m demo.app --model_name_or_path MODEL --chat_template magicoder --host 0.0.0.0 --port 8080

The system prompt is the Magicoder training one (oss_common.template.SYSTEM) and cannot be changed. Each turn goes
through the model's chat template (a train_sft.py model carries the Magicoder one; `--chat_template magicoder` gives it
to another model), answers stream token by token (`TransformersBackend.stream`), and the chat renders Markdown, so
fenced code shows as code. Temperature (0 = greedy) and the answer's length are set with sliders; Clear starts over.
Gradio's usage analytics and version check are off; `--share true` asks Gradio for a public link.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

from oss_common import errors
from oss_common.parsing import check_names
from oss_common.template import SYSTEM
from oss_generate import GenerationError, Request, SamplingParams
from oss_generate.base import detail

SYSTEM_MESSAGE = {"role": "system", "content": SYSTEM}
TEMPERATURE_RANGE = (0.0, 1.0)
MAX_NEW_TOKENS_RANGE = (32, 2048)


@dataclass
class DemoArguments:
    model_name_or_path: str | None = field(
        default=None, metadata={"help": "Model folder (train_sft.py output_dir) or Hub id."}
    )
    chat_template: str | None = field(
        default=None,
        metadata={"help": "Replace the tokenizer's chat template: 'magicoder', a .jinja file, or a Jinja string."},
    )
    revision: str | None = field(default=None, metadata={"help": "Hub revision (branch, tag or commit)."})
    dtype: str = field(default="auto", metadata={"help": "auto | float32 | bfloat16 | float16."})
    device: str = field(default="auto", metadata={"help": "auto (GPU if any) | cpu | cuda | cuda:N."})
    host: str = field(default="127.0.0.1", metadata={"help": "Address to serve on (0.0.0.0: every interface)."})
    port: int = field(default=7860, metadata={"help": "Port to serve on."})
    share: bool = field(default=False, metadata={"help": "Also open a public gradio.live link."})
    temperature: float = field(default=0.0, metadata={"help": "Initial temperature slider value (0 = greedy)."})
    max_new_tokens: int = field(default=512, metadata={"help": "Initial max-new-tokens slider value."})

    def __post_init__(self):
        if not self.model_name_or_path:
            raise ValueError("give --model_name_or_path (a train_sft.py output folder or a Hub id).")
        if not 0 < self.port < 65536:
            raise ValueError(f"--port must be in 1..65535, not {self.port}.")
        low, high = TEMPERATURE_RANGE
        if not low <= self.temperature <= high:
            raise ValueError(f"--temperature must be in [{low}, {high}], not {self.temperature}.")
        low, high = MAX_NEW_TOKENS_RANGE
        if not low <= self.max_new_tokens <= high:
            raise ValueError(f"--max_new_tokens must be in [{low}, {high}], not {self.max_new_tokens}.")


# --- the chat, without a browser -------------------------------------------------------------------------------------


def conversation(message: str, history: list[dict]) -> list[dict]:
    """The chat turns the model sees: the fixed system prompt, the earlier user and assistant turns, `message`."""
    return [SYSTEM_MESSAGE, *history, {"role": "user", "content": message}]


def chat(
    backend, message: str, history: list[dict], temperature: float = 0.0, max_new_tokens: int = 512
) -> Iterator[str]:
    """The model's answer to `message` after `history` (`{"role", "content"}` turns), growing token by token."""
    params = SamplingParams(max_new_tokens=int(max_new_tokens), temperature=float(temperature))
    return backend.stream(Request(conversation(message, history)), params)


# --- the page --------------------------------------------------------------------------------------------------------


def build_demo(backend, *, title: str | None = None, temperature: float = 0.0, max_new_tokens: int = 512):
    """The chat page for `backend` (anything with `stream(request, params)`), not yet launched."""
    gr = import_gradio()
    title = title or f"Chat with {backend.model}"

    # The exact turns live in a State: what the Chatbot sends back is its display (leading spaces stripped, Gradio 6
    # content parts), so the model would see a history slightly different from what it wrote.
    def respond(message: str, turns: list[dict], temperature: float, max_new_tokens: int):
        if not message.strip():
            yield message, turns, turns
            return
        asked = [*turns, {"role": "user", "content": message}]
        text = ""
        yield "", turns, [*asked, {"role": "assistant", "content": text}]
        try:
            for text in chat(backend, message, turns, temperature, max_new_tokens):
                yield "", turns, [*asked, {"role": "assistant", "content": text}]
        except GenerationError as err:
            yield message, turns, turns  # the question back in the box, the conversation as it was
            raise gr.Error(f"{detail(err)}. Press Clear to start a new conversation.") from err
        answered = [*asked, {"role": "assistant", "content": text}]
        yield "", answered, answered

    with gr.Blocks(title=title, analytics_enabled=False) as demo:
        gr.Markdown(f"## {title}")
        with gr.Accordion("System prompt (fixed: the one the model was trained with)", open=False):
            gr.Markdown(SYSTEM)
        turns = gr.State([])
        chatbot = gr.Chatbot(label="Conversation", elem_id="chat", height=480, **messages_format(gr))
        with gr.Row(equal_height=True):
            prompt = gr.Textbox(
                show_label=False, placeholder="Ask for some code, then press Enter or Send", elem_id="prompt", scale=8
            )
            send = gr.Button("Send", variant="primary", elem_id="send", scale=1)
        with gr.Row(equal_height=True):
            temperature_slider = gr.Slider(
                *TEMPERATURE_RANGE,
                value=temperature,
                step=0.05,
                label="Temperature",
                info="0 = greedy",
                elem_id="temperature",
            )
            max_tokens_slider = gr.Slider(
                *MAX_NEW_TOKENS_RANGE, value=max_new_tokens, step=1, label="Max new tokens", elem_id="max-new-tokens"
            )
            clear = gr.Button("Clear", elem_id="clear")

        inputs = [prompt, turns, temperature_slider, max_tokens_slider]
        # one answer at a time for the one model, whichever way it was asked for
        events = [
            trigger(respond, inputs, [prompt, turns, chatbot], concurrency_limit=1, concurrency_id="generate")
            for trigger in (prompt.submit, send.click)
        ]
        # the Clear button, or the Chatbot's own clear icon, stops the answer and forgets the conversation
        clear.click(lambda: ("", [], []), None, [prompt, turns, chatbot], cancels=events)
        chatbot.clear(lambda: [], None, [turns], cancels=events)  # leaves alone what is being typed
    return demo


def messages_format(gr) -> dict:
    """Chatbot's keyword for openai-style messages: Gradio 5 needs type="messages"; Gradio 6 has only those."""
    import inspect

    return {"type": "messages"} if "type" in inspect.signature(gr.Chatbot.__init__).parameters else {}


def import_gradio():
    try:
        import gradio
    except ModuleNotFoundError as err:
        if err.name != "gradio":
            raise
        raise ModuleNotFoundError(
            "the demo needs Gradio: pip install -e '.[demo]' (or pip install 'gradio>=5').", name="gradio"
        ) from err
    return gradio


# --- command line ----------------------------------------------------------------------------------------------------


def main(args: DemoArguments) -> None:
    from oss_generate import make_backend

    backend = make_backend(
        "transformers",
        args.model_name_or_path,
        revision=args.revision,
        dtype=args.dtype,
        device=args.device,
        chat_template=args.chat_template,
    )
    with backend:
        demo = build_demo(backend, temperature=args.temperature, max_new_tokens=args.max_new_tokens)
        demo.queue().launch(server_name=args.host, server_port=args.port, share=args.share)


def cli(argv: list[str] | None = None) -> int:
    """Parse and run; a user error is one line on stderr and exit status 2 (oss_common.errors)."""
    return errors.run(parse_and_run, argv, (GenerationError,))


def parse_and_run(argv: list[str]) -> None:
    from transformers import HfArgumentParser

    parser = HfArgumentParser(DemoArguments)
    try:
        check_names(parser, argv)
        (args,) = parser.parse_args_into_dataclasses(argv)
    except ValueError as err:
        raise errors.UserError(f"{detail(err)}.") from err
    try:
        import_gradio()  # before the model loads
    except ModuleNotFoundError as err:
        raise errors.UserError(err) from err
    main(args)


if __name__ == "__main__":
    sys.exit(cli())
