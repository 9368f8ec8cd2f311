#!/usr/bin/env bash
# PromptSRC, cross-dataset / domain generalization: train on ImageNet, all classes, 16 shots.
# usage: bash scripts/promptsrc/xd_train.sh SEED
source "$(dirname "$0")/../common.sh"
run_job PromptSRC xd_train "$@"
