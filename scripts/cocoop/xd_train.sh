#!/usr/bin/env bash
# CoCoOp, cross-dataset / domain generalization: train on ImageNet, all classes, 16 shots.
# usage: bash scripts/cocoop/xd_train.sh SEED
source "$(dirname "$0")/../common.sh"
run_job CoCoOp xd_train "$@"
