#!/usr/bin/env bash
# MagicoderS-CL-7B (Magicoder paper, arXiv 2312.02120), end to end: OSS-Instruct and Evol-Instruct data -> stage 1 on
#   codellama/CodeLlama-7b-Python-hf -> stage 2 from stage 1's output -> evaluation -> Hub.
#
#   bash recipes/runbooks/magicoders-cl-7b.sh [train_sft.py overrides for every stage, e.g. --report_to wandb]
#   DRY_RUN=1 bash recipes/runbooks/magicoders-cl-7b.sh      # the commands, in order, without running them
#
# Running it again resumes: finished steps are skipped. Variables (BUILD_OSS_INSTRUCT, ACCELERATE_CONFIG, HUB_ORG, ...)
# are listed in recipes/runbooks/common.sh. Stage 1 writes the same folder as magicoder-cl-7b.sh, so after that
# runbook this one starts at stage 2. Only the final model is evaluated and pushed here (magicoder-cl-7b.sh does
# both for stage 1).
set -euo pipefail
MODEL_NAME=MagicoderS-CL-7B
RECIPES=recipes/magicoder/cl-7b
STAGES="1 2"
# shellcheck source=recipes/runbooks/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
runbook "$@"
