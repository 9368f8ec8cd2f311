#!/usr/bin/env bash
# ProGrad, base-to-new: train on the base classes of DATASET (16 shots) and test on them.
# usage: bash scripts/prograd/base2new_train.sh DATASET SEED   (env knobs: NCTX, CSC, CTP, LAMBDA and those in clipfit/app/jobs.py)
source "$(dirname "$0")/../common.sh"
run_job ProGrad base2new_train "$@"
