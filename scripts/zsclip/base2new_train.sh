#!/usr/bin/env bash
# ZeroshotCLIP, base-to-new: evaluate zero-shot CLIP on the base classes of DATASET (nothing is trained).
# usage: bash scripts/zsclip/base2new_train.sh DATASET SEED   (env knobs: see clipfit/app/jobs.py)
source "$(dirname "$0")/../common.sh"
run_job ZeroshotCLIP base2new_train "$@"
