#!/usr/bin/env bash
# CoOp, base-to-new: train on the base classes of DATASET (16 shots) and test on them.
# usage: bash scripts/coop/base2new_train.sh DATASET SEED   (env knobs: NCTX, CSC, CTP and those in clipfit/app/jobs.py)
source "$(dirname "$0")/../common.sh"
run_job CoOp base2new_train "$@"
