#!/usr/bin/env bash
# ProGrad, cross-dataset / domain generalization: train on ImageNet, all classes, 16 shots.
# usage: bash scripts/prograd/xd_train.sh SEED
source "$(dirname "$0")/../common.sh"
run_job ProGrad xd_train "$@"
