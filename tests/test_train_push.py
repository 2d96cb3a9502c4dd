"""Pushing a trained model folder: our card and weights land on the Hub (a loopback stand-in) under a tag."""

import pytest

from oss_common.errors import UserError
from tests.helpers.tiny_model import build_tiny_model


def test_push_uploads_the_folder_and_tags_it(hub, tmp_path):
    from huggingface_hub import HfApi
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from oss_sft.checkpoints import push
    from oss_sft.config import SFTConfig

    out = build_tiny_model(tmp_path / "run")
    (out / "README.md").write_text("---\nlicense: other\n---\n# our card\n")
    (out / "checkpoint-3").mkdir()
    (out / "checkpoint-3" / "optimizer.pt").write_bytes(b"x" * 10)
    args = SFTConfig(
        output_dir=str(out), hub_model_id="test-org/magicoder-tiny", hub_tag="v1.0", use_cpu=True, bf16=False
    )
    push(args)

    api = HfApi()
    files = api.list_repo_files("test-org/magicoder-tiny")
    assert "model.safetensors" in files and "README.md" in files and "chat_template.jinja" in files
    assert not any(f.startswith("checkpoint-") for f in files)
    assert [t.name for t in api.list_repo_refs("test-org/magicoder-tiny").tags] == ["v1.0"]
    model = AutoModelForCausalLM.from_pretrained("test-org/magicoder-tiny", revision="v1.0")
    assert model.num_parameters() > 0
    assert AutoTokenizer.from_pretrained("test-org/magicoder-tiny", revision="v1.0").eos_token is not None


@pytest.mark.parametrize("bad", ["outputs/missing-stage1"])
def test_missing_local_stage1_fails_at_once(tmp_path, monkeypatch, bad):
    import train_sft

    monkeypatch.chdir(tmp_path)
    (tmp_path / "outputs").mkdir()
    parser = train_sft.make_parser()
    args = parser.parse_args_and_config(
        ["--model_name_or_path", bad, "--dataset_name", "x.jsonl", "--output_dir", "o", "--use_cpu", "true"]
    )
    with pytest.raises(UserError, match="run stage 1 first"):
        train_sft.main(*args)
