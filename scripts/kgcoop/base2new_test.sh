#!/usr/bin/env bash
# KgCoOp, base-to-new: evaluate the base2new_train model of DATASET/SEED on the new classes.
# usage: bash scripts/kgcoop/base2new_test.sh DATASET SEED
source "$(dirname "$0")/../common.sh"
run_job KgCoOp base2new_test "$@"
