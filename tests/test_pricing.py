import pytest

from dataset_builder.teacher.pricing import Prices, lookup

# gpt-4o-mini lists at 0.15 / 0.60 USD per 1M tokens; the Batch API bills half of a list price.
LIVE = (0.15, 0.60)
BATCH = (0.075, 0.30)


@pytest.mark.parametrize(
    ("input_override", "output_override", "batch", "expected"),
    [
        (None, None, False, LIVE),
        (None, None, True, BATCH),
        (1.0, None, False, (1.0, LIVE[1])),
        (1.0, None, True, (1.0, BATCH[1])),
        (None, 2.0, False, (LIVE[0], 2.0)),
        (None, 2.0, True, (BATCH[0], 2.0)),
        (1.0, 2.0, False, (1.0, 2.0)),
        (1.0, 2.0, True, (1.0, 2.0)),
    ],
)
def test_overrides_are_taken_as_stated_and_table_prices_are_halved_for_batch(
    input_override, output_override, batch, expected
):
    prices = Prices("gpt-4o-mini", input_override, output_override, batch)
    assert (prices.input, prices.output) == pytest.approx(expected)


@pytest.mark.parametrize("batch", [False, True])
def test_an_unknown_model_is_priced_by_its_overrides_only(batch):
    assert not Prices("my-finetune", None, None, batch).known
    assert not Prices("my-finetune", 1.0, None, batch).known
    assert Prices(None, None, 2.0, batch).output == 2.0
    prices = Prices("my-finetune", 1.0, 2.0, batch)
    assert prices.known
    assert prices.cost(1_000_000, 500_000) == pytest.approx(2.0)


def test_dated_snapshots_take_the_longest_known_prefix():
    assert lookup("gpt-4o-mini-2024-07-18") == LIVE
    assert lookup("gpt-4o-2024-08-06") == (2.50, 10.00)
    assert lookup("gpt-4o-mini-x") == LIVE
    assert lookup("gpt-4oo") is None
    assert lookup(None) is None


def test_cost_is_none_until_both_prices_are_known():
    assert Prices("my-finetune", 1.0, None, batch=False).cost(10, 10) is None
    assert Prices("gpt-4o-mini", None, None, batch=True).cost(2_000_000, 1_000_000) == pytest.approx(0.45)
