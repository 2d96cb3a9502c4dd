import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dataset_builder.cli import main, parse_config
from dataset_builder.config import PAPER_LANGUAGES, BuilderConfig, ConfigError, redact_url

ROOT = Path(__file__).resolve().parents[1]


def recipe(tmp_path, **fields):
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(fields))
    return str(path)


def test_yaml_then_cli_overrides(tmp_path):
    path = recipe(tmp_path, languages={"python": 5, "rust": 2}, max_tokens=100, corpus="x/y")
    config = parse_config(["--config", path, "--max_tokens", "7", "--languages", "{python: 3, C#: 1}"])
    assert config.max_tokens == 7
    assert config.corpus == "x/y"
    assert config.languages == {"python": 3, "c#": 1}


def test_paper_recipe_matches_reference():
    config = parse_config(["--config", str(ROOT / "recipes/oss_instruct/magicoder.yaml")])
    assert config.languages == PAPER_LANGUAGES
    assert sum(config.languages.values()) == 80_000
    assert config.corpus == "bigcode/starcoderdata"
    assert config.corpus_sources == {"swift": "bigcode/the-stack"}
    assert config.teacher_model == "gpt-3.5-turbo-1106"
    assert (config.temperature, config.seed, config.max_tokens, config.min_lines, config.max_lines) == (
        0.0,
        976,
        2500,
        1,
        15,
    )


def test_quickstart_recipe_parses():
    config = parse_config(["--config", str(ROOT / "recipes/oss_instruct/quickstart.yaml")])
    assert config.corpus == "quickstart" and config.local_teacher


def test_unknown_field_is_named(tmp_path):
    with pytest.raises(ConfigError, match="teacher_modle"):
        parse_config(["--config", recipe(tmp_path, teacher_modle="gpt-4o")])


def test_wrong_type_is_named(tmp_path):
    with pytest.raises(ConfigError, match="concurrency.*many"):
        parse_config(["--config", recipe(tmp_path, concurrency="many")])
    with pytest.raises(ConfigError, match="`temperature` must be float"):
        parse_config(["--config", recipe(tmp_path, temperature=[0.2])])
    with pytest.raises(ConfigError, match="max_tokens.*lots"):
        parse_config(["--max_tokens", "lots"])
    with pytest.raises(ConfigError, match="--not_a_field"):
        parse_config(["--not_a_field", "1"])
    with pytest.raises(ConfigError, match="languages.python"):
        parse_config(["--config", recipe(tmp_path, languages={"python": "lots"})])


def test_list_fields_take_yaml_or_words():
    quickstart = ["--config", str(ROOT / "recipes/oss_instruct/quickstart.yaml")]
    assert parse_config([*quickstart, "--variants", "[]"]).variants == []
    assert parse_config([*quickstart, "--variants", "[python, no_noisy]"]).variants == ["python", "no_noisy"]
    assert parse_config([*quickstart, "--variants", "[python,", "no_noisy]"]).variants == ["python", "no_noisy"]
    assert parse_config([*quickstart, "--variants", "python", "no_noisy"]).variants == ["python", "no_noisy"]
    assert parse_config([*quickstart, "--skip_benchmarks", "[mbpp, apps]"]).skip_benchmarks == ["mbpp", "apps"]
    assert parse_config([*quickstart, "--benchmarks", "humaneval"]).benchmarks == ["humaneval"]
    with pytest.raises(ConfigError, match=r"--variants: expected a list such as '\[python, no_noisy\]', got '\[a'"):
        parse_config([*quickstart, "--variants", "[a"])
    with pytest.raises(ConfigError, match="--skip_benchmarks.*expected a list"):
        parse_config([*quickstart, "--skip_benchmarks", "[{mbpp: 1}]"])


def test_missing_teacher_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="No teacher"):
        parse_config(["--config", recipe(tmp_path, teacher_model=None)])


def test_bad_values_are_errors():
    with pytest.raises(ConfigError, match="min_lines"):
        BuilderConfig(min_lines=5, max_lines=2)
    with pytest.raises(ConfigError, match="teacher_backend"):
        BuilderConfig(teacher_backend="grpc")
    with pytest.raises(ConfigError, match="languages"):
        BuilderConfig(languages={})


def test_missing_recipe_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml"):
        parse_config(["--config", str(tmp_path / "nope.yaml")])


def test_cli_exit_codes(tmp_path, capsys):
    assert main([]) == 2
    assert main(["frobnicate"]) == 2
    assert "usage: python -m dataset_builder" in capsys.readouterr().err
    assert main(["seeds", "--config", recipe(tmp_path, bogus=1)]) == 2
    assert "bogus" in capsys.readouterr().err


def test_saved_config_redacts_url_credentials():
    assert redact_url("https://user:pw@example.com:8443/v1") == "https://***@example.com:8443/v1"
    assert redact_url("http://localhost:8000/v1") == "http://localhost:8000/v1"
    assert "pw" not in str(BuilderConfig(teacher_base_url="https://u:pw@h/v1").to_dict())


def test_module_entry_point_and_field_help():
    out = subprocess.run(
        [sys.executable, "-m", "dataset_builder", "seeds", "--help"], capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 0
    for name in ("--corpus", "--languages", "--teacher_base_url", "--concurrency", "--dry_run", "--output_dir"):
        assert name in out.stdout


def test_importing_does_no_heavy_work():
    heavy = "{'openai', 'datasets', 'torch', 'trl'}"
    code = f"import sys, dataset_builder.cli, dataset_builder.pipeline; print(sorted({heavy} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_quickstart_gives_real_teachers_room_and_the_toy_teacher_short_answers(monkeypatch):
    from dataset_builder.stages.generate import max_tokens, teacher_name

    config = parse_config(["--config", str(ROOT / "recipes/oss_instruct/quickstart.yaml")])
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert (teacher_name(config), max_tokens(config)) == ("local/SmolLM2-135M-Instruct-Q4_1-guided", 200)
    config.local_teacher_guided = False  # a different answer, so a different fingerprint
    assert teacher_name(config) == "local/SmolLM2-135M-Instruct-Q4_1"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    assert (teacher_name(config), max_tokens(config)) == ("gpt-4o-mini", 2500)
