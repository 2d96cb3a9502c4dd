"""List prices of common OpenAI models, USD per 1M tokens (input, output), for cost estimates.

Prices change: these are the published list prices when this table was written. Set `price_input_per_million`
and `price_output_per_million` in the recipe to override them or to price any other model. The Batch API bills
half of the list prices, so a batch run halves a table price; an override is taken as stated, as the price paid
(give the Batch price when overriding for a batch run).
"""

from __future__ import annotations

PRICES = {
    "gpt-3.5-turbo-1106": (1.00, 2.00),
    "gpt-3.5-turbo-0125": (0.50, 1.50),
    "gpt-3.5-turbo": (0.50, 1.50),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-4-1106-preview": (10.00, 30.00),
    "gpt-4": (30.00, 60.00),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
}
BATCH_DISCOUNT = 0.5


def lookup(model: str | None) -> tuple[float, float] | None:
    """Exact name first, then the longest known prefix (dated snapshots such as gpt-4o-mini-2024-07-18)."""
    if not model:
        return None
    if model in PRICES:
        return PRICES[model]
    matches = [name for name in PRICES if model.startswith(name + "-")]
    return PRICES[max(matches, key=len)] if matches else None


def _price(override: float | None, listed: float | None, factor: float) -> float | None:
    if override is not None:
        return override
    return None if listed is None else listed * factor


class Prices:
    """USD per 1M tokens for one run: an override is the price paid, taken as stated; a table price is the live list
    price, halved for the Batch API."""

    def __init__(self, model: str | None, input_override: float | None, output_override: float | None, batch: bool):
        known = lookup(model) or (None, None)
        factor = BATCH_DISCOUNT if batch else 1.0
        self.input = _price(input_override, known[0], factor)
        self.output = _price(output_override, known[1], factor)

    @property
    def known(self) -> bool:
        return self.input is not None and self.output is not None

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        if not self.known:
            return None
        return (prompt_tokens * self.input + completion_tokens * self.output) / 1e6
