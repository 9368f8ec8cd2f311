#!/usr/bin/env bash
# CoCoOp, cross-dataset / domain generalization: evaluate the xd_train model on DATASET (or an ImageNet variant).
# usage: bash scripts/cocoop/xd_test.sh DATASET SEED
source "$(dirname "$0")/../common.sh"
run_job CoCoOp xd_test "$@"
