#!/usr/bin/env bash
# PromptSRC, base-to-new: evaluate the base2new_train model of DATASET/SEED on the new classes.
# usage: bash scripts/promptsrc/base2new_test.sh DATASET SEED
source "$(dirname "$0")/../common.sh"
run_job PromptSRC base2new_test "$@"
