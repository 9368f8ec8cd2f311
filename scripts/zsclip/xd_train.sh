#!/usr/bin/env bash
# ZeroshotCLIP, cross-dataset / domain generalization: evaluate zero-shot CLIP on ImageNet (the source).
# usage: bash scripts/zsclip/xd_train.sh SEED
source "$(dirname "$0")/../common.sh"
run_job ZeroshotCLIP xd_train "$@"
