#!/usr/bin/env bash
# Magicoder-DS-6.7B on execution-verified OSS-Instruct data (beyond the paper: REFERENCE.md §7), end to end: the
#   paper's 80K seeds and teacher, the teacher's tests, solution + tests run in the bubblewrap sandbox, only passing
#   rows kept (recipes/oss_instruct/magicoder_verified.yaml) -> stage 1 on deepseek-ai/deepseek-coder-6.7b-base with
#   the paper's hyperparameters -> evaluation -> Hub.
#
#   bash dataset_builder/execution/install_toolchains.sh        # once: bubblewrap and the nine toolchains
#   bash recipes/runbooks/magicoder-ds-6.7b-verified.sh [train_sft.py overrides, e.g. --report_to wandb]
#   DRY_RUN=1 bash recipes/runbooks/magicoder-ds-6.7b-verified.sh   # the commands, in order, without running them
#
# Compare with recipes/runbooks/magicoder-ds-6.7b.sh (the same seeds and answers, unverified): the two builds share
# output_dir, so running one after the other pays the teacher for the seeds once. Running it again resumes. Variables
# (BUILD_ARGS, ACCELERATE_CONFIG, HUB_ORG, ...) are listed in recipes/runbooks/common.sh.
set -euo pipefail
MODEL_NAME=Magicoder-DS-6.7B-Verified
RECIPES=recipes/magicoder/ds-6.7b-verified
STAGES="1"
OSS_RECIPE=${OSS_RECIPE:-recipes/oss_instruct/magicoder_verified.yaml}
# shellcheck source=recipes/runbooks/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
runbook "$@"
