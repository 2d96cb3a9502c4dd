"""Resume-compatibility guard: the run folder names of the shipped recipes must not change.

A stage's run folder is named by the fingerprint of its inputs, its version and its upstream's fingerprint; an
interrupted build resumes only when a rerun computes the same names (the teacher's answers already paid for live in
the generate folder). These fingerprints were computed before the stage contract moved into `stages/base.py` and the
fingerprint fields into `BuilderConfig`'s field metadata; a change here strands existing builds. The quickstart's
seeds fingerprint includes the package version (the bundled corpus is identified by it): a version bump updates it.
Parse is at version 2 (the `solution_fence_closed` column and the header/fence fixes), so parse and the stages after
it have new names; seeds and generate, where the teacher's work lives, kept theirs. The quickstart's publish folders
changed when `dataset_license` stopped defaulting to `mit` (the card says `other` unless a recipe sets one). The
verified recipes reuse the paper chain's seeds, generate and parse folders (the teacher's answers are paid once); their
tests folders follow the harness texts (the tests prompt) and their execute folders the verdict (execute version 2:
`pass` needs the runner's word that the tests completed; version 3: a Bash or PHP solution that does not parse is the
runner's `compile_error`) and `typescript_typecheck`.
"""

from pathlib import Path

import pytest

from dataset_builder import __version__
from dataset_builder.cli import PIPELINE_COMMANDS, parse_config
from dataset_builder.pipeline import CHAINS, run_dir_for

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
QUICKSTART = "oss_instruct/quickstart.yaml"
MAGICODER = "oss_instruct/magicoder.yaml"
EVOL = "evol_instruct/evol_codealpaca.yaml"
QUICKSTART_VERIFIED = "oss_instruct/quickstart_verified.yaml"
MAGICODER_VERIFIED = "oss_instruct/magicoder_verified.yaml"

EXPECTED = {
    (QUICKSTART, "build"): {
        "seeds": "1c7269194767b732",
        "generate": "097e0fd36573af5b",
        "parse": "a7829de811b2c507",
        "clean": "827a6e7038c19e63",
        "decontaminate": "ec32b3590f368e07",
        "analyze": "61b0e1c69d4c9289",
        "publish": "cc01f84f7384e2af",
    },
    (QUICKSTART, "pairs"): {
        "seeds": "1c7269194767b732",
        "pairs": "35aa1f71b64f4acc",
        "decontaminate": "555012444982c092",
        "publish": "9b9a4a94a74e9d21",
    },
    (MAGICODER, "build"): {
        "seeds": "d4cc513d8806da0f",
        "generate": "a423a80b9adb351d",
        "parse": "820c0171d28252d8",
        "clean": "314dead7f0314c88",
        "decontaminate": "fa587f3a29522c95",
        "analyze": "41290616425941e2",
        "publish": "99c2c85937e798ca",
    },
    (QUICKSTART_VERIFIED, "build"): {
        "seeds": "1c7269194767b732",  # the verified chain shares seeds, generate and parse with the paper's
        "generate": "097e0fd36573af5b",
        "parse": "a7829de811b2c507",
        "tests": "f2650977e671f7a4",
        "execute": "790d9bc5823e1931",
        "clean": "aa736777640cda88",
        "decontaminate": "3784a8cae95392fe",
        "analyze": "ada2d071fadc7ad0",
        "publish": "78d555fe1d818ad2",
    },
    (MAGICODER_VERIFIED, "build"): {
        "seeds": "d4cc513d8806da0f",
        "generate": "a423a80b9adb351d",
        "parse": "820c0171d28252d8",
        "tests": "52e1b55acbbf2549",
        "execute": "036936b793d1cd43",
        "clean": "1eb863a98533270f",
        "decontaminate": "2f64d8a1f4001aae",
        "analyze": "039a3ff180cefb15",
        "publish": "ca941e079595c693",
    },
    (EVOL, "evol"): {
        "evol": "364b5273df1b725b",
        "decontaminate": "4fe054f3acd2396a",
        "publish": "f430b56897220b3b",
    },
}


@pytest.mark.parametrize(("recipe", "command"), list(EXPECTED))
def test_recipe_run_folders_keep_their_names(recipe, command, monkeypatch):
    assert __version__ == "0.1.0", "the quickstart's seeds fingerprint below was computed for version 0.1.0"
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):  # the quickstart's teacher is the guided local one
        monkeypatch.delenv(name, raising=False)
    config = parse_config(["--config", str(RECIPES / recipe)])
    if command in PIPELINE_COMMANDS:
        config.pipeline = PIPELINE_COMMANDS[command]
    run_dir, names = None, {}
    for stage in CHAINS[config.pipeline]:
        run_dir, _ = run_dir_for(stage, config, run_dir)
        names[stage] = run_dir.fingerprint
    assert names == EXPECTED[recipe, command]


def test_every_fingerprint_mark_names_a_registered_stage():
    import dataclasses

    from dataset_builder.cli import parse_config
    from dataset_builder.config import FINGERPRINT, BuilderConfig
    from dataset_builder.pipeline import CHAINS, STAGES, chain_of

    marked = {stage for f in dataclasses.fields(BuilderConfig) for stage in f.metadata.get(FINGERPRINT, ())}
    assert marked <= set(STAGES)
    chained = set()
    for pipeline in CHAINS:  # `solutions` joins the verified chains with several solutions per problem
        for n in ("1", "2"):
            chained |= set(chain_of(parse_config(["--pipeline", pipeline, "--solutions_per_problem", n])))
    assert chained == set(STAGES)
    assert all(STAGES[name].name == name and isinstance(STAGES[name].version, int) for name in STAGES)
