#!/usr/bin/env bash
# MaPLe, cross-dataset / domain generalization: train on ImageNet, all classes, 16 shots.
# usage: bash scripts/maple/xd_train.sh SEED
source "$(dirname "$0")/../common.sh"
run_job MaPLe xd_train "$@"
