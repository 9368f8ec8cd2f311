#!/usr/bin/env bash
# ProGrad, cross-dataset / domain generalization: evaluate the xd_train model on DATASET (or an ImageNet variant).
# usage: bash scripts/prograd/xd_test.sh DATASET SEED
source "$(dirname "$0")/../common.sh"
run_job ProGrad xd_test "$@"
