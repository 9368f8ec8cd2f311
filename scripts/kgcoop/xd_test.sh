#!/usr/bin/env bash
# KgCoOp, cross-dataset / domain generalization: evaluate the xd_train model on DATASET (or an ImageNet variant).
# usage: bash scripts/kgcoop/xd_test.sh DATASET SEED
source "$(dirname "$0")/../common.sh"
run_job KgCoOp xd_test "$@"
