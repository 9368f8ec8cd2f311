#!/usr/bin/env bash
# PromptSRC, base-to-new: train on the base classes of DATASET (16 shots) and test on them.
# usage: bash scripts/promptsrc/base2new_train.sh DATASET SEED   (env knobs: see clipfit/app/jobs.py)
source "$(dirname "$0")/../common.sh"
run_job PromptSRC base2new_train "$@"
