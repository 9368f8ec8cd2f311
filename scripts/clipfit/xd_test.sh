#!/usr/bin/env bash
# CLIPFit, cross-dataset / domain generalization: evaluate the xd_train model on DATASET (or an ImageNet variant).
# usage: bash scripts/clipfit/xd_test.sh DATASET SEED
source "$(dirname "$0")/../common.sh"
run_job CLIPFit xd_test "$@"
