#!/usr/bin/env bash
# PromptSRC, cross-dataset / domain generalization: evaluate the xd_train model on DATASET (or an ImageNet variant).
# usage: bash scripts/promptsrc/xd_test.sh DATASET SEED
source "$(dirname "$0")/../common.sh"
run_job PromptSRC xd_test "$@"
