#!/usr/bin/env bash
# KgCoOp, cross-dataset / domain generalization: train on ImageNet, all classes, 16 shots.
# usage: bash scripts/kgcoop/xd_train.sh SEED
source "$(dirname "$0")/../common.sh"
run_job KgCoOp xd_train "$@"
