#!/usr/bin/env bash
# CLIPFit, few-shot: train on all classes of DATASET with SHOTS images per class, test on the full test set.
# usage: bash scripts/clipfit/few_shot.sh DATASET SHOTS SEED
source "$(dirname "$0")/../common.sh"
run_job CLIPFit few_shot "$@"
