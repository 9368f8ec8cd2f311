#!/usr/bin/env bash
# IVLP, cross-dataset / domain generalization: evaluate the xd_train model on DATASET (or an ImageNet variant).
# usage: bash scripts/independent-vlp/xd_test.sh DATASET SEED
source "$(dirname "$0")/../common.sh"
run_job IVLP xd_test "$@"
