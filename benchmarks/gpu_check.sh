#!/usr/bin/env bash
# One prepared GPU check for issue 15, under 8 minutes on a GPU node (every step has a time limit;
# the limits, a start-up allowance and the kill grace periods add up to less than 480 s: --plan):
#   1. the core benchmark (benchmarks/bench_core.py: per-rotation time vs the memory floor, gradient, compile);
#   2. training throughput per estimator (benchmarks/bench_training.py, n = 4 and 12, 1 and 20 seeds);
#   3. Fig. 10 at n = 14, depths 64 and 128, 10,000 samples per point (experiments/fig10.py), its
#      samples split over every GPU present;
#   4. the sharded statevector on 1, 2, 4, ... of the GPUs present (benchmarks/bench_scale.py), with
#      its correctness check against the single-device simulator;
#   5. sharded training on 1, 2, 4, ... and all of the GPUs present (benchmarks/bench_scale.py
#      --training): seeds x mini-batch samples, and the third axis (one sample's gradient circuits
#      over the GPUs), against the one-GPU losses and shot counts.
# Everything lands in one results file, RESULTS_DIR/gpu_check.md (per-step logs and Fig. 10's files
# beside it). RESULTS_DIR is the first argument, else $OUT, else ./gpu_results.
#
# Usage: benchmarks/gpu_check.sh [--quick] [--plan] [RESULTS_DIR]
#   --quick  reduced sizes (a CPU smoke test of the plumbing: 8 virtual CPU devices for the sharded
#            steps); also chosen automatically, with a note, when JAX finds no GPU (GPU_CHECK_QUICK=1
#            forces it too).
#   --plan   print the steps' time limits and their total, and exit.
# With --quick (reduced sizes, meant for a CPU) every limit is multiplied by GPU_CHECK_SCALE (default
# 3: a shared CPU compiles far slower than a GPU node's host); the 8-minute plan is the GPU run's.
set -uo pipefail

QUICK=${GPU_CHECK_QUICK:-0}
PLAN=0
DIR=""
for arg in "$@"; do
    case "$arg" in
        --quick) QUICK=1 ;;
        --plan) PLAN=1 ;;
        -h | --help)
            sed -n '2,22p' "$0"
            exit 0
            ;;
        -*)
            echo "gpu_check.sh: unknown option $arg" >&2
            exit 2
            ;;
        *) DIR="$arg" ;;
    esac
done

# The time plan (seconds). TOTAL_LIMIT is the issue's 8 minutes; the start-up allowance covers the
# header (one JAX import to count the GPUs) and the final summary; every step is killed GRACE
# seconds after its limit if it ignores SIGTERM. A step never runs past the deadline START + BUDGET.
TOTAL_LIMIT=480
STARTUP=25
GRACE=5
STEPS=(bench_core bench_training fig10 bench_scale bench_scale_training)
declare -A LIMIT=([bench_core]=90 [bench_training]=60 [fig10]=110 [bench_scale]=75 [bench_scale_training]=75)
SUM=$STARTUP
for s in "${STEPS[@]}"; do SUM=$((SUM + LIMIT[$s] + GRACE)); done
if [ $PLAN = 1 ]; then
    for s in "${STEPS[@]}"; do echo "$s ${LIMIT[$s]}"; done
    echo "startup $STARTUP"
    echo "grace $GRACE per step"
    echo "total $SUM of $TOTAL_LIMIT"
    exit 0
fi
if [ "$SUM" -ge "$TOTAL_LIMIT" ]; then
    echo "gpu_check.sh: the step limits add up to $SUM s, not under $TOTAL_LIMIT s" >&2
    exit 2
fi

DIR="${DIR:-${OUT:-./gpu_results}}"
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python}"
RES="$DIR/gpu_check.md"
START=$(date +%s)
DEADLINE=$((START + TOTAL_LIMIT - GRACE - 5))
FAILED=0

# GPUs JAX sees (0 on a CPU-only machine, or when JAX has no GPU backend)
NGPU=$(timeout 60 "$PY" -c 'import jax
try:
    print(len(jax.devices("gpu")))
except RuntimeError:
    print(0)' 2>/dev/null | tail -1)
case "$NGPU" in '' | *[!0-9]*) NGPU=0 ;; esac
NOTE=""
if [ "$NGPU" = 0 ] && [ "$QUICK" = 0 ]; then
    NOTE="No GPU found by JAX: ran the reduced (--quick) sizes on the CPU instead; these are not GPU numbers."
    echo "gpu_check.sh: $NOTE" >&2
    QUICK=1
fi
# the sharded statevector uses the largest power of two of the GPUs (8 virtual CPU devices with --quick)
NDEV=$([ "$QUICK" = 1 ] && echo 8 || echo "$NGPU")
SCALE=1
if [ "$QUICK" = 1 ]; then
    SCALE=${GPU_CHECK_SCALE:-3}
    for s in "${STEPS[@]}"; do LIMIT[$s]=$((LIMIT[$s] * SCALE)); done
    DEADLINE=$((START + (TOTAL_LIMIT - GRACE - 5) * SCALE))
fi
POW=1
while [ $((POW * 2)) -le "$NDEV" ]; do POW=$((POW * 2)); done
LOG2=0
while [ $((1 << LOG2)) -lt "$POW" ]; do LOG2=$((LOG2 + 1)); done

{
    echo "# GPU check (benchmarks/gpu_check.sh$([ "$QUICK" = 1 ] && echo ' --quick'))"
    echo
    [ -n "$NOTE" ] && echo "**$NOTE**" && echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), host: $(hostname)"
    echo "- load: \`$(uptime)\`"
    echo "- git: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "- GPUs (JAX): ${NGPU}"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | sed 's/^/  - /'
    echo "- jax: $("$PY" -c 'import jax; print(jax.__version__, jax.default_backend(), jax.devices())' 2>&1 | tail -1)"
    echo "- time limits (s): $(for s in "${STEPS[@]}"; do printf '%s %s, ' "$s" "${LIMIT[$s]}"; done)start-up $STARTUP, total $SUM of $TOTAL_LIMIT$([ "$SCALE" != 1 ] && echo " (--quick: limits x $SCALE)")"
    echo
} >"$RES"

# step NAME CMD...: run with NAME's time limit (cut to the deadline), log to DIR/NAME.log, append its outcome
step() {
    local name=$1
    shift
    local t0 t1 rc limit left
    t0=$(date +%s)
    left=$((DEADLINE - t0))
    limit=${LIMIT[$name]}
    [ "$left" -lt "$limit" ] && limit=$left
    if [ "$limit" -lt 5 ]; then
        { echo "## $name (SKIPPED: the time budget is spent)"; echo; } >>"$RES"
        FAILED=1
        return 0
    fi
    echo "== $name (limit $limit s): $*" >&2
    timeout -k "$GRACE" "$limit" "$@" >"$DIR/$name.log" 2>&1
    rc=$?
    t1=$(date +%s)
    {
        echo "## $name ($((t1 - t0)) s of $limit s, exit $rc$([ $rc = 124 ] || [ $rc = 137 ] && echo ', TIMED OUT'))"
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

if [ "$QUICK" = 1 ]; then
    CORE=(--quick --no-compare)
    TRAIN=(--n 4 --seeds 1 --kinds ancilla ancilla_circuits param_shift exact --steps 2 --rounds 2 --profile-n)
    FIG10=(--n 6 --depths 2 --samples 200 --batch 100)
    SCALE_ARGS=(--quick --devices 8)
    SCALE_TRAIN=(--quick --training --devices 2)
else
    # n up to 26 (its limit), complex64, no CPU comparisons
    CORE=(--sizes 20,24,26 --dtypes complex64 --no-compare --scaling-depths 10,100 --note "gpu_check.sh")
    # the two-sweep SLPA against its circuit path and parameter shift (4 kinds keep the step in its limit)
    TRAIN=(--n 4 12 --seeds 1 20 --kinds ancilla ancilla_circuits param_shift exact --steps 5 --rounds 3 --profile-n)
    # target: under 10 s per point at depth 64
    FIG10=(--n 14 --depths 64 128 --samples 10000)
    # n <= 30 so the single-device reference still runs
    SCALE_ARGS=(--devices "$POW" --strong-n 30 --weak-n0 $((30 - LOG2)) --depth 64 --compile-depths 10,100
        --note "gpu_check.sh, ${NGPU} GPU(s)")
    SCALE_TRAIN=(--training --devices "$NGPU" --repeats 3 --train-seeds 16 --train-samples 32
        --note "gpu_check.sh, ${NGPU} GPU(s)")
fi

# 1. core benchmark
step bench_core "$PY" benchmarks/bench_core.py "${CORE[@]}" --out "$DIR/bench_core.md"
attach bench_core "$DIR/bench_core.md"
# 2. training throughput (prints its table; RESULTS.md untouched)
step bench_training "$PY" benchmarks/bench_training.py "${TRAIN[@]}" --no-write
{ echo '```'; grep -E '^\|' "$DIR/bench_training.log" | head -n 40; tail -n 3 "$DIR/bench_training.log"; echo '```'; echo; } >>"$RES"
# 3. Fig. 10 at n = 14
step fig10 "$PY" experiments/fig10.py "${FIG10[@]}" --out "$DIR/fig10"
attach fig10 "$DIR/fig10/table.md"
{ echo '```'; grep -E '"(model|depth|seconds)"' "$DIR/fig10/results.json" 2>/dev/null | paste - - -; echo '```'; echo; } >>"$RES"
# 4. sharded statevector on 1..POW devices
step bench_scale "$PY" benchmarks/bench_scale.py "${SCALE_ARGS[@]}" --out "$DIR/bench_scale.md"
attach bench_scale "$DIR/bench_scale.md"
# 5. sharded training on 1, 2, 4, ... and all devices (not only a power of two: batches are padded)
step bench_scale_training "$PY" benchmarks/bench_scale.py "${SCALE_TRAIN[@]}" --out "$DIR/bench_scale_training.md"
attach bench_scale_training "$DIR/bench_scale_training.md"

END=$(date +%s)
echo "Total: $((END - START)) s (limit $((TOTAL_LIMIT * SCALE)) s); $([ $FAILED = 0 ] && echo 'every step passed' || echo 'SOME STEPS FAILED (see the logs)')." >>"$RES"
echo "wrote $RES" >&2
exit $FAILED
