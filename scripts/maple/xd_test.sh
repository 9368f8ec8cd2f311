#!/usr/bin/env bash
# MaPLe, cross-dataset / domain generalization: evaluate the xd_train model on DATASET (or an ImageNet variant).
# usage: bash scripts/maple/xd_test.sh DATASET SEED
source "$(dirname "$0")/../common.sh"
run_job MaPLe xd_test "$@"
