#!/usr/bin/env bash
# ZeroshotCLIP, few-shot: train on all classes of DATASET with SHOTS images per class, test on the full test set.
# usage: bash scripts/zsclip/few_shot.sh DATASET SHOTS SEED
source "$(dirname "$0")/../common.sh"
run_job ZeroshotCLIP few_shot "$@"
