#!/usr/bin/env bash
# CLIPFit, base-to-new: train on the base classes of DATASET (16 shots) and test on them.
# usage: bash scripts/clipfit/base2new_train.sh DATASET SEED   (env knobs: LAMBDA and those in clipfit/app/jobs.py)
source "$(dirname "$0")/../common.sh"
run_job CLIPFit base2new_train "$@"
