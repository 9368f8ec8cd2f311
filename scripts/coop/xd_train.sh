#!/usr/bin/env bash
# CoOp, cross-dataset / domain generalization: train on ImageNet, all classes, 16 shots.
# usage: bash scripts/coop/xd_train.sh SEED
source "$(dirname "$0")/../common.sh"
run_job CoOp xd_train "$@"
