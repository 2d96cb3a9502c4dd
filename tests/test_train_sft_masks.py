"""The loss masks train_sft.py's trainer builds, token by token, and packed samples that cannot see each other."""

from itertools import pairwise

import pytest
import torch

from tests.helpers.sft import OSS_INSTRUCTION, OSS_ROWS, SYSTEM, sft_trainer
from tests.helpers.tiny_model import build_tiny_model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


# --- loss masks -------------------------------------------------------------------------------------------------


def test_loss_is_on_response_and_eos_only_token_by_token(tiny, tmp_path):
    trainer = sft_trainer(tiny, tmp_path, OSS_ROWS[:1])
    batch = trainer.data_collator([trainer.train_dataset[0]])  # what the trainer trains on
    ids, labels = batch["input_ids"][0].tolist(), batch["labels"][0].tolist()
    tokenizer = trainer.processing_class
    spans = [  # (name, text, trained on)
        ("system line", SYSTEM + "\n\n", False),
        ("@@ Instruction header", "@@ Instruction\n", False),
        ("instruction text", OSS_INSTRUCTION + OSS_ROWS[0]["problem"] + "\n\n", False),
        ("@@ Response header", "@@ Response\n", False),
        ("response", OSS_ROWS[0]["solution"], True),
        ("EOS", tokenizer.eos_token, True),
    ]
    assert tokenizer.decode(ids) == "".join(text for _, text, _ in spans)

    # characters each token covers, from decoding ever longer prefixes
    ends = [len(tokenizer.decode(ids[: i + 1])) for i in range(len(ids))]
    starts = [0, *ends[:-1]]
    offsets = [0]
    for _, text, _ in spans:
        offsets.append(offsets[-1] + len(text))
    for (name, text, trained), lo, hi in zip(spans, offsets[:-1], offsets[1:], strict=True):
        inside = [i for i in range(len(ids)) if lo <= starts[i] and ends[i] <= hi]
        assert tokenizer.decode([ids[i] for i in inside]) == text, f"{name} shares a token with its neighbour"
        for i in inside:
            piece = tokenizer.decode([ids[i]])
            if trained:
                assert labels[i] == ids[i], f"{name} token {i} {piece!r} is not trained on"
            else:
                assert labels[i] == -100, f"{name} token {i} {piece!r} is trained on"
    assert ids[-1] == tokenizer.eos_token_id and labels[-1] == ids[-1]


# --- packing ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("attn_implementation", ["sdpa", "eager"])
def test_packed_sample_logits_do_not_see_the_other_sample(tiny, tmp_path, attn_implementation):
    trainer = sft_trainer(
        tiny, tmp_path, OSS_ROWS[:2], packing=True, model_init_kwargs={"attn_implementation": attn_implementation}
    )
    assert trainer.args.packing_strategy == "bfd" and trainer.padding_free
    assert trainer.model.config._attn_implementation == attn_implementation
    assert len(trainer.train_dataset) == 1, "both rows in one packed sequence"
    packed = trainer.data_collator([trainer.train_dataset[0]])
    assert "attention_mask" not in packed, "padding-free: sequences are told apart by position_ids"
    bounds = packed["cu_seq_lens_q"].tolist()
    assert len(bounds) == 3

    def logits(batch):  # the model call of SFTTrainer.compute_loss, training mode, without the fused loss head
        return trainer.model(**{k: v for k, v in batch.items() if k != "labels"}, use_cache=False).logits[0]

    trainer.model.train()
    with torch.no_grad():
        together = logits(packed)
        for start, end in pairwise(bounds):
            sample = {key: packed[key][0, start:end].tolist() for key in ("input_ids", "labels")}
            alone_batch = trainer.data_collator([sample])  # the same padding-free inputs, this sample only
            assert torch.equal(packed["labels"][0, start:end], alone_batch["labels"][0])
            alone = logits(alone_batch)
            torch.testing.assert_close(together[start:end], alone, atol=1e-5, rtol=0)

        # the check can fail: with a plain causal mask the second sample attends to the first
        leaky = trainer.model(
            input_ids=packed["input_ids"],
            position_ids=packed["position_ids"],
            attention_mask=torch.ones_like(packed["input_ids"]),
            use_cache=False,
        ).logits[0]
        assert (leaky[bounds[1] :] - alone).abs().max() > 1e-3
