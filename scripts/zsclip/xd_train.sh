#!/usr/bin/env bash
# ZeroshotCLIP, cross-dataset / domain generalization: train on ImageNet, all classes, 16 shots.
# usage: bash scripts/zsclip/xd_train.sh SEED
source "$(dirname "$0")/../common.sh"
run_job ZeroshotCLIP xd_train "$@"
