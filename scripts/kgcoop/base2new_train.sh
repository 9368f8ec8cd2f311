#!/usr/bin/env bash
# KgCoOp, base-to-new: train on the base classes of DATASET (16 shots) and test on them.
# usage: bash scripts/kgcoop/base2new_train.sh DATASET SEED   (env knobs: WEIGHT and those in clipfit/app/jobs.py)
source "$(dirname "$0")/../common.sh"
run_job KgCoOp base2new_train "$@"
