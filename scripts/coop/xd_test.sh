#!/usr/bin/env bash
# CoOp, cross-dataset / domain generalization: evaluate the xd_train model on DATASET (or an ImageNet variant).
# usage: bash scripts/coop/xd_test.sh DATASET SEED
source "$(dirname "$0")/../common.sh"
run_job CoOp xd_test "$@"
