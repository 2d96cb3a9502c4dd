# shellcheck shell=bash
# Steps shared by the four paper runbooks (recipes/runbooks/magicoder{,s}-{cl-7b,ds-6.7b}.sh), which set
# MODEL_NAME, RECIPES (recipes/magicoder/cl-7b or ds-6.7b) and STAGES (1, or "1 2" for MagicoderS), then source this
# file and call `runbook "$@"`. Arguments go to both training stages (train_sft.py overrides).
#
# The chain: OSS-Instruct data (the builder, paper recipe) -> [S] Evol-Instruct data (evol-codealpaca-v1,
# decontaminated) -> stage 1 -> [S] stage 2 from stage 1's output -> evaluation -> push to the Hub. A step whose
# output is already there and complete is skipped, so running the same command again resumes where it stopped.
#
# Variables (paths are relative to the repository root):
#   DRY_RUN=1                  print the commands in order, run none of them (what is done is still checked)
#   BUILD_OSS_INSTRUCT=0       train stage 1 on the released ise-uiuc/Magicoder-OSS-Instruct-75K instead of building it
#   OSS_RECIPE, BUILD_ARGS     builder recipe (recipes/oss_instruct/magicoder.yaml) and overrides, e.g.
#                              BUILD_ARGS="--teacher_backend openai_batch" or "--teacher_model gpt-4o-mini"
#   BUILD_EVOL_INSTRUCT=0      (S) train stage 2 on the released ise-uiuc/Magicoder-Evol-Instruct-110K instead
#   EVOL_RECIPE, EVOL_ARGS     (S) recipes/evol_instruct/evol_codealpaca.yaml and overrides
#   BASE_MODEL                 stage 1's base model instead of the stage-1 recipe's (a Hub id or a folder)
#   ACCELERATE_CONFIG          recipes/accelerate_configs/ddp.yaml (zero3.yaml, fsdp.yaml, ...)
#   NUM_PROCESSES              GPUs to use (accelerate's --num_processes; default: the config's)
#   STAGE1_OUTPUT_DIR, STAGE2_OUTPUT_DIR   default: the stage recipes' output_dir
#   EVAL_RECIPE                recipes/eval/evalplus.yaml (HumanEval(+) and MBPP(+))
#   EVAL_OUTPUT_DIR, EVAL_ARGS the recipe's output_dir (outputs/eval), and overrides of `python -m eval` (e.g. "--backend vllm")
#   BIGCODE_HARNESS_VENV       the installed bigcode harness (`make harness`; default .venv-harness): where it exists,
#                              also run MultiPL-E (recipes/eval/bigcode.yaml, scored in the sandbox; DS-1000 and APPS
#                              score on the host, so they are left to recipes/eval/bigcode_python.yaml in a container)
#   MULTIPLE=0                 skip MultiPL-E even where a harness is (the quickstart's default: the paper's 50
#                              samples per problem take minutes per problem on a CPU)
#   BIGCODE_HARNESS_DIR        a bigcode-evaluation-harness clone instead of the installed one
#   BIGCODE_HARNESS_PYTHON     the python of the clone's environment (default: this one)
#   HUB_ORG                    push the built datasets and the model, with their cards, to this Hub user or org
#   HUB_PRIVATE=1              create those repos private
#   PYTHON                     the interpreter (default: python)
#
# Building OSS-Instruct needs OPENAI_API_KEY (or an OpenAI-compatible server: OPENAI_BASE_URL or
# BUILD_ARGS="--teacher_base_url ...") and a Hub login that accepted the terms of bigcode/starcoderdata and
# bigcode/the-stack (`hf auth login`).

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2

DRY_RUN=${DRY_RUN:-0}
PYTHON=${PYTHON:-python}
BUILD_OSS_INSTRUCT=${BUILD_OSS_INSTRUCT:-1}
OSS_RECIPE=${OSS_RECIPE:-recipes/oss_instruct/magicoder.yaml}
BUILD_EVOL_INSTRUCT=${BUILD_EVOL_INSTRUCT:-1}
EVOL_RECIPE=${EVOL_RECIPE:-recipes/evol_instruct/evol_codealpaca.yaml}
BASE_MODEL=${BASE_MODEL:-}
ACCELERATE_CONFIG=${ACCELERATE_CONFIG:-recipes/accelerate_configs/ddp.yaml}
NUM_PROCESSES=${NUM_PROCESSES:-}
EVAL_RECIPE=${EVAL_RECIPE:-recipes/eval/evalplus.yaml}
EVAL_OUTPUT_DIR=${EVAL_OUTPUT_DIR:-}   # default: the eval recipe's output_dir
BIGCODE_HARNESS_VENV=${BIGCODE_HARNESS_VENV:-.venv-harness}
MULTIPLE=${MULTIPLE:-1}
BIGCODE_HARNESS_DIR=${BIGCODE_HARNESS_DIR:-}
BIGCODE_HARNESS_PYTHON=${BIGCODE_HARNESS_PYTHON:-}
HUB_ORG=${HUB_ORG:-}
HUB_PRIVATE=${HUB_PRIVATE:-0}
read -ra build_args <<< "${BUILD_ARGS:-}"
read -ra evol_args <<< "${EVOL_ARGS:-}"
read -ra eval_args <<< "${EVAL_ARGS:-}"

STEP=0
OSS_DATA=""   # the builder's published folders, when built here (empty: the recipe's released dataset)
EVOL_DATA=""
BUILT=()      # "RECIPE<TAB>RUN_DIR<TAB>DATASET_NAME<TAB>COMMAND" of each dataset built here, for the push

die() { echo "error: $*" >&2; exit 2; }
state() { "$PYTHON" -m oss_runbooks.state "$@"; }
banner() { STEP=$((STEP + 1)); printf '\n==> [%d/%d] %s\n' "$STEP" "$TOTAL" "$*"; }
skip() { echo "skipping $1: already done at $2"; }
# Print a command as it would be typed (quoted), then run it unless DRY_RUN=1.
run() {
    printf '+'; printf ' %q' "$@"; printf '\n'
    if [ "$DRY_RUN" != 1 ]; then "$@"; fi
}
trained() { [ -f "$1/trainer_state.json" ] && [ -f "$1/README.md" ]; }  # train_sft writes the card last

# Generating OSS-Instruct data needs a teacher: fail now rather than after streaming 80K seeds from the corpus.
# needs_teacher RECIPE ARGS...
needs_teacher() {
    local recipe=$1
    shift
    # a recipe that serves the local toy teacher when nothing else is configured (the quickstart's)
    if grep -Eq '^local_teacher:[[:space:]]*true' "$recipe"; then return; fi
    case " $* " in
        *teacher_base_url* | *teacher_backend*vllm* | *local_teacher* | *batch_results_files* | *batch_write_only*)
            return ;;
    esac
    if [ -z "${OPENAI_API_KEY:-}${OPENAI_BASE_URL:-}" ]; then
        die "building OSS-Instruct needs a teacher: export OPENAI_API_KEY (or OPENAI_BASE_URL, or" \
            "BUILD_ARGS=\"--teacher_base_url URL --teacher_model NAME\"), or set BUILD_OSS_INSTRUCT=0 to train on" \
            "the released ise-uiuc/Magicoder-OSS-Instruct-75K"
    fi
}

# build_dataset LABEL COMMAND RECIPE ARGS...: the builder's whole pipeline; sets DATA to its published folder.
build_dataset() {
    local label=$1 command=$2 recipe=$3 line run_dir name
    shift 3
    line=$(state dataset "$command" --config "$recipe" "$@")
    IFS=$'\t' read -r run_dir name <<< "$line"
    DATA=$run_dir/hub
    BUILT+=("$recipe"$'\t'"$run_dir"$'\t'"$name"$'\t'"$command")
    if [ -f "$run_dir/stats.json" ]; then
        if [ ! -d "$DATA" ]; then
            die "$label: the build at $run_dir kept no rows (see its stats.json and rejects/); fix the recipe"
        fi
        skip "$label" "$DATA"
        return
    fi
    if [ "$command" = build ] && [ "$DRY_RUN" != 1 ]; then needs_teacher "$recipe" "$@"; fi
    run "$PYTHON" -m dataset_builder "$command" --config "$recipe" "$@"
    if [ "$DRY_RUN" != 1 ] && [ ! -d "$DATA" ]; then
        die "$label: the builder finished without $DATA (no rows kept?); see $run_dir/stats.json"
    fi
}

step_oss_instruct() {
    if [ "$BUILD_OSS_INSTRUCT" != 1 ]; then
        banner "OSS-Instruct data: the released dataset (BUILD_OSS_INSTRUCT=$BUILD_OSS_INSTRUCT)"
        echo "stage 1 trains on the dataset named in $RECIPES/stage1_oss_instruct.yaml"
        return
    fi
    banner "OSS-Instruct data: the builder on $OSS_RECIPE"
    build_dataset "OSS-Instruct data" build "$OSS_RECIPE" "${build_args[@]}"
    OSS_DATA=$DATA
}

step_evol_instruct() {
    if [ "$BUILD_EVOL_INSTRUCT" != 1 ]; then
        banner "Evol-Instruct data: the released dataset (BUILD_EVOL_INSTRUCT=$BUILD_EVOL_INSTRUCT)"
        echo "stage 2 trains on the dataset named in $RECIPES/stage2_evol_instruct.yaml"
        return
    fi
    banner "Evol-Instruct data: $(state field "$EVOL_RECIPE" evol_dataset), decontaminated ($EVOL_RECIPE)"
    build_dataset "Evol-Instruct data" evol "$EVOL_RECIPE" "${evol_args[@]}"
    EVOL_DATA=$DATA
}

# step_train STAGE: accelerate launch train_sft.py with the stage's recipe, its data and output, then the user's args.
step_train() {
    local stage=$1 recipe output data
    shift
    if [ "$stage" = 1 ]; then
        recipe=$RECIPES/stage1_oss_instruct.yaml output=$STAGE1_OUTPUT_DIR data=$OSS_DATA
    else
        recipe=$RECIPES/stage2_evol_instruct.yaml output=$STAGE2_OUTPUT_DIR data=$EVOL_DATA
    fi
    banner "Stage $stage: $recipe -> $output"
    if trained "$output"; then
        skip "stage $stage" "$output"
        return
    fi
    local args=(--config "$recipe" --output_dir "$output")
    if [ "$stage" = 2 ]; then args+=(--model_name_or_path "$STAGE1_OUTPUT_DIR"); fi
    if [ "$stage" = 1 ] && [ -n "$BASE_MODEL" ]; then args+=(--model_name_or_path "$BASE_MODEL"); fi
    if [ -n "$data" ]; then args+=(--dataset_name "$data"); fi
    local launch=(accelerate launch --quiet --config_file "$ACCELERATE_CONFIG")  # a user error: only its one line
    if [ -n "$NUM_PROCESSES" ]; then launch+=(--num_processes "$NUM_PROCESSES"); fi
    run "${launch[@]}" train_sft.py "${args[@]}" "$@"
}

# eval_part LABEL RECIPE ARGS...: one `python -m eval` run, skipped when results.json has it all, complete.
eval_part() {
    local label=$1 recipe=$2 line
    shift 2
    local args=(--config "$recipe" --model_name_or_path "$FINAL_OUTPUT_DIR")
    if [ -n "$EVAL_OUTPUT_DIR" ]; then args+=(--output_dir "$EVAL_OUTPUT_DIR"); fi
    args+=("$@")
    line=$(state eval-done "${args[@]}")
    if [ "${line%% *}" = "done" ]; then
        skip "$label" "${line#* }"
        return
    fi
    run "$PYTHON" -m eval "${args[@]}"
}

step_eval() {
    local benchmarks
    benchmarks=$(state field "$EVAL_RECIPE" benchmarks | tr -d "[]'")
    banner "Evaluation of $FINAL_OUTPUT_DIR: $benchmarks ($EVAL_RECIPE); MultiPL-E with the bigcode harness"
    eval_part "$benchmarks" "$EVAL_RECIPE" "${eval_args[@]}"
    local harness=()
    if [ "$MULTIPLE" = "0" ]; then
        echo "skipped MultiPL-E: MULTIPLE=0 (${MULTIPLE_REASON:-set by the caller}; MULTIPLE=1 runs it)"
        return
    elif [ -n "$BIGCODE_HARNESS_DIR" ]; then
        harness=(--harness_dir "$BIGCODE_HARNESS_DIR")
        if [ -n "$BIGCODE_HARNESS_PYTHON" ]; then harness+=(--harness_python "$BIGCODE_HARNESS_PYTHON"); fi
    elif [ -x "$BIGCODE_HARNESS_VENV/bin/python" ]; then
        harness=(--harness_python "$BIGCODE_HARNESS_VENV/bin/python")
    else
        echo "skipped MultiPL-E: no bigcode harness at $BIGCODE_HARNESS_VENV (\`make harness\` installs it there;" \
            "or BIGCODE_HARNESS_DIR=a clone; README, \"MultiPL-E, DS-1000, APPS\")"
        return
    fi
    eval_part "MultiPL-E" recipes/eval/bigcode.yaml "${harness[@]}" "${eval_args[@]}"
}

step_push() {
    banner "Push to the Hub: the datasets built here and $MODEL_NAME, with their cards"
    if [ -z "$HUB_ORG" ]; then
        echo "skipped the push: HUB_ORG is not set (HUB_ORG=your-org pushes the datasets and the model)"
        return
    fi
    local entry recipe run_dir name command repo extra
    for entry in "${BUILT[@]}"; do
        IFS=$'\t' read -r recipe run_dir name command <<< "$entry"
        repo=$HUB_ORG/$name
        if [ "$(state pushed "$run_dir" "$repo")" = yes ]; then
            skip "pushing $name" "https://huggingface.co/datasets/$repo"
            continue
        fi
        if [ "$command" = evol ]; then extra=("${evol_args[@]}"); else extra=("${build_args[@]}"); fi
        extra+=(--push_to_hub "$repo")
        if [ "$HUB_PRIVATE" = 1 ]; then extra+=(--hub_private true); fi
        # publish is a no-op for a complete build; it then pushes hub/ with its card and tags v<dataset_version>
        run "$PYTHON" -m dataset_builder publish --config "$recipe" "${extra[@]}"
    done
    # the whole output folder (weights, tokenizer, the card with its evaluation), without checkpoints and logs;
    # files already on the Hub are not sent again
    local upload=(hf upload "$HUB_ORG/$MODEL_NAME" "$FINAL_OUTPUT_DIR" . --exclude "checkpoint-*" --exclude "runs/*"
        --exclude "_*" --commit-message "$MODEL_NAME: $FINAL_OUTPUT_DIR")
    if [ "$HUB_PRIVATE" = 1 ]; then upload+=(--private); fi
    run "${upload[@]}"
}

# prepare ARGS...: refuse the overrides the runbook sets itself, and name each stage's output folder (its recipe's
# output_dir unless STAGE1_OUTPUT_DIR / STAGE2_OUTPUT_DIR say otherwise) and the final model's (FINAL_OUTPUT_DIR).
prepare() {
    local arg
    for arg in "$@"; do
        case $arg in
            --output_dir* | --model_name_or_path* | --dataset_name*)
                die "$arg: the runbook sets it for each stage; use STAGE1_OUTPUT_DIR / STAGE2_OUTPUT_DIR," \
                    "or OSS_RECIPE / BUILD_OSS_INSTRUCT=0 / EVOL_RECIPE for the data" ;;
        esac
    done
    STAGE1_OUTPUT_DIR=${STAGE1_OUTPUT_DIR:-$(state field "$RECIPES/stage1_oss_instruct.yaml" output_dir)}
    FINAL_OUTPUT_DIR=$STAGE1_OUTPUT_DIR
    TWO_STAGES=0
    if [[ " $STAGES " == *" 2 "* ]]; then
        TWO_STAGES=1
        STAGE2_OUTPUT_DIR=${STAGE2_OUTPUT_DIR:-$(state field "$RECIPES/stage2_evol_instruct.yaml" output_dir)}
        FINAL_OUTPUT_DIR=$STAGE2_OUTPUT_DIR
    fi
}

runbook() {
    prepare "$@"
    TOTAL=$((4 + 2 * TWO_STAGES))
    echo "$MODEL_NAME runbook$([ "$DRY_RUN" = 1 ] && echo " (DRY_RUN=1: commands are printed, not run)")"

    step_oss_instruct
    if [ "$TWO_STAGES" = 1 ]; then step_evol_instruct; fi
    step_train 1 "$@"
    if [ "$TWO_STAGES" = 1 ]; then step_train 2 "$@"; fi
    step_eval
    step_push
    if [ "$DRY_RUN" = 1 ]; then
        printf '\n%s: dry run, nothing was run\n' "$MODEL_NAME"
    else
        printf '\n%s: done -> %s\n' "$MODEL_NAME" "$FINAL_OUTPUT_DIR"
    fi
}
