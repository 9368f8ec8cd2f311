#!/usr/bin/env bash
# ProGrad, few-shot: train on all classes of DATASET with SHOTS images per class, test on the full test set.
# usage: bash scripts/prograd/few_shot.sh DATASET SHOTS SEED
source "$(dirname "$0")/../common.sh"
run_job ProGrad few_shot "$@"
