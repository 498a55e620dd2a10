#!/usr/bin/env bash
# One prepared GPU check for issue 15 (about 8 minutes on a GPU node):
#   1. the core benchmark (benchmarks/bench_core.py: per-rotation time vs the memory floor, gradient, compile);
#   2. Fig. 10 at n = 14, depths 64 and 128, 10,000 samples per point (experiments/fig10.py);
#   3. the sharded statevector on 1, 2, 4, ... of the GPUs present (benchmarks/bench_scale.py), with
#      its correctness check against the single-device simulator;
#   4. sharded training (seeds x mini-batch samples) on 1, 2, 4, ... and all of the GPUs present
#      (benchmarks/bench_scale.py --training), against the one-GPU losses and shot counts.
# Step 2's landscape sampling also splits its samples over every GPU present (devices="all").
# Everything lands in one results file, RESULTS_DIR/gpu_check.md (per-step logs and Fig. 10's files
# beside it). RESULTS_DIR is the first argument, else $OUT, else ./gpu_results.
#
# Usage: benchmarks/gpu_check.sh [--quick] [RESULTS_DIR]
#   --quick  CPU smoke test: tiny sizes (8 virtual CPU devices for step 3, 2 for step 4).
set -uo pipefail

QUICK=0
DIR=""
for arg in "$@"; do
    case "$arg" in
        --quick) QUICK=1 ;;
        -h | --help)
            sed -n '2,14p' "$0"
            exit 0
            ;;
        -*)
            echo "gpu_check.sh: unknown option $arg" >&2
            exit 2
            ;;
        *) DIR="$arg" ;;
    esac
done
DIR="${DIR:-${OUT:-./gpu_results}}"
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python}"
RES="$DIR/gpu_check.md"
START=$(date +%s)
FAILED=0

# GPUs present (0 on a CPU machine); the sharded benchmark uses the largest power of two of them.
NGPU=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
NGPU=${NGPU:-0}
POW=1
while [ $((POW * 2)) -le "$NGPU" ]; do POW=$((POW * 2)); done
if [ "$NGPU" = 0 ] && [ $QUICK = 0 ]; then
    echo "gpu_check.sh: no GPU found (nvidia-smi -L); use --quick for a CPU smoke test" >&2
    exit 2
fi
LOG2=0
while [ $((1 << LOG2)) -lt "$POW" ]; do LOG2=$((LOG2 + 1)); done

{
    echo "# GPU check (benchmarks/gpu_check.sh$([ $QUICK = 1 ] && echo ' --quick'))"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), host: $(hostname)"
    echo "- load: \`$(uptime)\`"
    echo "- git: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "- GPUs: ${NGPU}"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | sed 's/^/  - /'
    echo "- jax: $("$PY" -c 'import jax; print(jax.__version__, jax.default_backend(), jax.devices())' 2>&1 | tail -1)"
    echo
} >"$RES"

# step NAME TIMEOUT_S CMD...: run with a time limit, log to DIR/NAME.log, append its outcome to RES
step() {
    local name=$1 limit=$2
    shift 2
    local t0 t1 rc
    t0=$(date +%s)
    echo "== $name: $*" >&2
    timeout "$limit" "$@" >"$DIR/$name.log" 2>&1
    rc=$?
    t1=$(date +%s)
    {
        echo "## $name ($((t1 - t0)) s, exit $rc$([ $rc = 124 ] && echo ', TIMED OUT'))"
        echo
        echo "\`$*\`"
        echo
    } >>"$RES"
    [ $rc = 0 ] || FAILED=1
    return 0
}

# append a markdown file written by a step (if any), else the tail of its log
attach() {
    local name=$1 file=$2
    if [ -s "$file" ]; then
        cat "$file" >>"$RES"
    else
        { echo '```'; tail -n 40 "$DIR/$name.log"; echo '```'; } >>"$RES"
    fi
    echo >>"$RES"
}

if [ $QUICK = 1 ]; then
    step bench_core 120 "$PY" benchmarks/bench_core.py --quick --no-compare --out "$DIR/bench_core.md"
    attach bench_core "$DIR/bench_core.md"
    step fig10 120 "$PY" experiments/fig10.py --n 6 --depths 2 --samples 200 --batch 100 --out "$DIR/fig10"
    attach fig10 "$DIR/fig10/table.md"
    step bench_scale 120 "$PY" benchmarks/bench_scale.py --quick --devices 8 --out "$DIR/bench_scale.md"
    attach bench_scale "$DIR/bench_scale.md"
    step bench_scale_training 240 "$PY" benchmarks/bench_scale.py --quick --training --devices 2 \
        --out "$DIR/bench_scale_training.md"
    attach bench_scale_training "$DIR/bench_scale_training.md"
else
    # 1. core benchmark: n up to 26 (its limit), complex64 and complex128, no CPU comparisons
    step bench_core 200 "$PY" benchmarks/bench_core.py --sizes 20,22,24,26 --no-compare \
        --scaling-depths 10,100 --out "$DIR/bench_core.md" --note "gpu_check.sh"
    attach bench_core "$DIR/bench_core.md"
    # 2. Fig. 10 at n = 14 (target: under 10 s per point at depth 64)
    step fig10 150 "$PY" experiments/fig10.py --n 14 --depths 64 128 --samples 10000 --out "$DIR/fig10"
    attach fig10 "$DIR/fig10/table.md"
    { echo '```'; cat "$DIR/fig10/results.json" 2>/dev/null | grep -E '"(model|depth|seconds)"' | paste - - -; echo '```'; echo; } >>"$RES"
    # 3. sharded statevector on 1..POW GPUs; n <= 30 so the single-device reference still runs
    step bench_scale 120 "$PY" benchmarks/bench_scale.py --devices "$POW" --strong-n 30 --weak-n0 $((30 - LOG2)) \
        --depth 64 --compile-depths 10,100 --out "$DIR/bench_scale.md" --note "gpu_check.sh, ${NGPU} GPU(s)"
    attach bench_scale "$DIR/bench_scale.md"
    # 4. sharded training on 1, 2, 4, ... and all NGPU GPUs (not only a power of two: batches are padded)
    step bench_scale_training 80 "$PY" benchmarks/bench_scale.py --training --devices "$NGPU" --repeats 3 \
        --train-seeds 16 --train-samples 32 --out "$DIR/bench_scale_training.md" --note "gpu_check.sh, ${NGPU} GPU(s)"
    attach bench_scale_training "$DIR/bench_scale_training.md"
fi

END=$(date +%s)
echo "Total: $((END - START)) s; $([ $FAILED = 0 ] && echo 'every step passed' || echo 'SOME STEPS FAILED (see the logs)')." >>"$RES"
echo "wrote $RES" >&2
exit $FAILED
