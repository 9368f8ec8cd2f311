#!/usr/bin/env bash
# IVLP, cross-dataset / domain generalization: train on ImageNet, all classes, 16 shots.
# usage: bash scripts/independent-vlp/xd_train.sh SEED
source "$(dirname "$0")/../common.sh"
run_job IVLP xd_train "$@"
