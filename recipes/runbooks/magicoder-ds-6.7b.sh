#!/usr/bin/env bash
# Magicoder-DS-6.7B (Magicoder paper, arXiv 2312.02120), end to end: OSS-Instruct data -> stage 1 on deepseek-
#   ai/deepseek-coder-6.7b-base -> evaluation -> Hub.
#
#   bash recipes/runbooks/magicoder-ds-6.7b.sh [train_sft.py overrides for every stage, e.g. --report_to wandb]
#   DRY_RUN=1 bash recipes/runbooks/magicoder-ds-6.7b.sh      # the commands, in order, without running them
#
# Running it again resumes: finished steps are skipped. Variables (BUILD_OSS_INSTRUCT, ACCELERATE_CONFIG, HUB_ORG, ...)
# are listed in recipes/runbooks/common.sh.
set -euo pipefail
MODEL_NAME=Magicoder-DS-6.7B
RECIPES=recipes/magicoder/ds-6.7b
STAGES="1"
# shellcheck source=recipes/runbooks/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
runbook "$@"
