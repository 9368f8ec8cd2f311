#!/usr/bin/env bash
# Everything a lent GPU machine should run, in one call under the 600 s command limit: the GPU tests, then
# the benchmarks behind the issues' targets, most important first, each under its own time limit.
# JSON lines go to $OUT/<step>.jsonl, logs to $OUT/<step>.log; the last lines printed are the targets table.
#
# Prepare on this machine, then call the device tool with carry [".whl"] and timeout_s 600:
#   EXTRA_WHEELS="pytest iniconfig pluggy" bash ../shared/gpu/prepare-wheels.sh
#   bash benchmarks/gpu_session.sh
# SMOKE=1 runs the same steps on the CPU with the tiny CLIP and --quick shapes and no time limits (a check
# of the script). PYTHON picks the interpreter (default python3, the GPU image's).
set -uo pipefail
OUT=${OUT:-output/gpu-session}
PY=${PYTHON:-python3}
# Without a GPU every step would fall back or fail one by one, for minutes: stop at once, saying so.
if [ -z "${SMOKE:-}" ] && ! "$PY" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then
  echo "gpu_session.sh: no CUDA GPU here (torch.cuda.is_available() is not True for $PY): run it on a GPU" \
    "machine, or SMOKE=1 bash benchmarks/gpu_session.sh for a CPU check of the script" >&2
  exit 1
fi
mkdir -p "$OUT"
extra=()
limit() { timeout "$@"; }  # limit SECONDS CMD...: the GPU run's per-step limits
if [ -n "${SMOKE:-}" ]; then
  extra=(--quick --backbone tiny --device cpu)
  limit() { shift; "$@"; }  # a check of the script: a busy machine must not decide it
else
  if [ -d .whl ]; then  # the GPU image lacks open_clip_torch, ftfy, yacs (and maybe pytest)
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
      .whl/*.whl 2>/dev/null && export PYTHONPATH=/tmp/site:$PWD || { echo "installing .whl failed"; exit 1; }
  fi
  nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv 2>&1 | tee "$OUT/gpu.txt"
  limit 100 "$PY" -m pytest -q -m gpu -p no:cacheprovider tests > "$OUT/gpu_tests.txt" 2>&1
  echo "gpu_tests: rc=$? $(tail -1 "$OUT/gpu_tests.txt")"
fi

step() {  # step NAME SECONDS SCRIPT ARGS...: stdout -> NAME.jsonl, stderr -> NAME.log
  local name=$1 limit=$2 start=$SECONDS
  shift 2
  limit "$limit" "$PY" "$@" "${extra[@]}" > "$OUT/$name.jsonl" 2> "$OUT/$name.log"
  echo "$name: rc=$? in $((SECONDS - start)) s"
}

step text_prefix 60 benchmarks/bench_text_prefix.py --prec fp16 --iters 10
step all_fp16 110 benchmarks/run_all.py --prec fp16 --share-prefix both
step clipfit_modes 80 benchmarks/bench_clipfit_step.py --modes fp16,bf16,amp,fp32 --compile off
step clipfit_graphs 120 benchmarks/bench_clipfit_step.py --modes bf16,fp16 --compile reduce-overhead \
  --classes 50,500,1000 --iters 10
step baselines_graphs 90 benchmarks/bench_baselines.py --prec fp16 --compile reduce-overhead \
  --select coop:32:500,cocoop:4:500 --iters 10
step data 90 benchmarks/bench_data.py --workers 0,8,16 --cases train,eval
"$PY" benchmarks/targets.py "$OUT"/*.jsonl | tee "$OUT/targets.txt" | tail -9
