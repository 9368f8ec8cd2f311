#!/usr/bin/env bash
# CLIPFit, cross-dataset / domain generalization: train on ImageNet, all classes, 16 shots.
# usage: bash scripts/clipfit/xd_train.sh SEED
source "$(dirname "$0")/../common.sh"
run_job CLIPFit xd_train "$@"
