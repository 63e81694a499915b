#!/usr/bin/env bash
# The prepared GPU check: on one CUDA GPU with PyTorch preinstalled and no
# network, install the wheels handed over in $WHEELS, build mmcv 2.1.0 with
# CUDA ops from the local sdist, then measure the paper config for 1 clip
# of 10 frames at 224x224, one JSON per run in $OUT_DIR: gpu_check.json (AMP
# float16 training steps at batch 1; inference, masks + captions forced to
# 40 tokens), gpu_check_segmentation.json (inference, masks only),
# gpu_check_infer_len{15,40}_{eager,compiled}.json (captions forced to 15
# tokens; the compiled decode step, CUDA graphs, for 15 and 40),
# gpu_check_train_bf16_cp_b{1,2,4}.json (bfloat16 training, every with_cp
# switch on, up to the first batch that runs out of memory), each with
# frames/s, peak GPU memory, FLOPs, TFLOP/s and model FLOP utilisation;
# then a summary table and the targets (docs/benchmarks.md). About 15
# minutes on a 16-core machine (the mmcv build about 4).
#
#   bash tools/analysis_tools/gpu_check.sh [OUT_DIR]
#
# Environment:
#   WHEELS   folder with the wheels and mmcv-2.1.0.tar.gz, filled beforehand
#            on a machine with network by gpu_check_prepare.sh (default .whl)
#   CONFIG   config to measure (default configs/ssuformer_f_music.py)
#   PY       interpreter holding PyTorch (default python3)
#   SITE     folder the wheels are installed into (default /tmp/rassu_site)
#   DRY_RUN  1: no install and no build; measure on the CPU with a tiny input
#            (what the test suite runs): no compiled decode step (about 30 s
#            per shape on the CPU), training at batch 1 only
#   INFER_RUNS     caption runs, TOKENS_eager or TOKENS_compiled (default
#                  "15_eager 15_compiled 40_compiled"; dry run "15_eager")
#   TRAIN_BATCHES  batch sizes of the bfloat16 training runs (default
#                  "1 2 4"; dry run "1")
#   CHECK_ARGS  extra arguments of every benchmark.py run (e.g. --iters 5)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT_DIR=${1:-work_dirs/gpu_check}
WHEELS=${WHEELS:-.whl}
CONFIG=${CONFIG:-configs/ssuformer_f_music.py}
PY=${PY:-python3}
SITE=${SITE:-/tmp/rassu_site}
DRY_RUN=${DRY_RUN:-0}
mkdir -p "$OUT_DIR"
log() { printf '[gpu_check %s] %s\n' "$(date +%T)" "$*"; }

# The measurement (step 3), also the whole of a dry run: random weights
# (speed and memory do not depend on them), random clips, the caption
# tokenizer built from generated captions (the paper's needs its dataset).
# The region losses of the paper configs load the frozen CLIP text tower's
# weights at their first call: here the tower keeps random weights and
# reads the generated tokenizer, so no weight file is needed. One Python
# process (its start costs seconds) builds the tokenizer
# (tools/build_tokenizer.py, its messages on stderr) and prints those
# options of the text tower.
tokenizer_and_text_tower() {
  "$PY" - "$CONFIG" "$1" "$OUT_DIR/captions/annotations/train.json" <<'EOF'
import contextlib, runpy, sys
config, tokenizer, captions = sys.argv[1:]
sys.argv = ['tools/build_tokenizer.py', captions, tokenizer]
with contextlib.redirect_stdout(sys.stderr):
    runpy.run_path(sys.argv[0], run_name='__main__')
from mmengine.config import Config
head = Config.fromfile(config).model.get('caption_head') or {}
for key in ('loss_clip', 'loss_rcc'):
    if (head.get(key) or {}).get('pretrained'):
        print(f'model.caption_head.{key}.pretrained=None '
              f'model.caption_head.{key}.tokenizer={tokenizer}')
EOF
}
# benchmark.py on $CONFIG with random inputs on $device; the arguments
# follow the run's own
bench() {
  "$PY" tools/analysis_tools/benchmark.py "$CONFIG" --synthetic-inputs \
    --device "$device" "$@"
}
measure() {
  local device=$1; shift
  local tokenizer="$OUT_DIR/tokenizer"
  "$PY" tools/dataset_converters/make_synthetic.py --no-progress \
    --out-dir "$OUT_DIR/captions" --num-train 16 --num-val 1 --num-test 1
  local caption
  caption="model.caption_head.tokenizer=$tokenizer $(tokenizer_and_text_tower "$tokenizer")"
  # the whole model: training steps, then masks + captions (40 tokens)
  # shellcheck disable=SC2086
  bench --batch-size 1 --flops --out "$OUT_DIR/gpu_check.json" \
    --cfg-options $caption "$@"
  # the segmentation path alone (masks only), inference
  bench --batch-size 1 --phases infer \
    --out "$OUT_DIR/gpu_check_segmentation.json" \
    --cfg-options model.caption_head=None model.mask_collaboration=None "$@"
  # masks + captions forced to TOKENS tokens (EOS disabled), eager or with
  # the compiled decode step (on CUDA CUDA graphs): INFER_RUNS holds
  # TOKENS_eager / TOKENS_compiled
  local run tokens compiled
  for run in $INFER_RUNS; do
    tokens=${run%_*} compiled=False
    [ "${run#*_}" = compiled ] && compiled=True
    # shellcheck disable=SC2086
    bench --batch-size 1 --phases infer --flops \
      --out "$OUT_DIR/gpu_check_infer_len${tokens}_${run#*_}.json" \
      --cfg-options $caption model.caption_head.generation.max_length="$tokens" \
      model.caption_head.generation.compile=$compiled "$@"
  done
  # training under bfloat16 autocast with every with_cp switch on, at the
  # batch sizes of TRAIN_BATCHES up to the first that runs out of memory
  # (its JSON records train_oom)
  local batch out
  for batch in $TRAIN_BATCHES; do
    out="$OUT_DIR/gpu_check_train_bf16_cp_b$batch.json"
    # shellcheck disable=SC2086
    bench --batch-size "$batch" --phases train --amp --amp-dtype bfloat16 \
      --with-cp --flops --out "$out" --cfg-options $caption "$@"
    if grep -q '"train_oom"' "$out"; then
      log "training at batch $batch ran out of memory; larger not tried"
      break
    fi
  done
  summary
}

# A table of every gpu_check*.json in $OUT_DIR, then the targets
summary() {
  "$PY" - "$OUT_DIR" <<'EOF'
import glob, json, os.path as osp, statistics, sys


def fmt(value, spec):
    return '-' if value is None else format(value, spec)


rows, infer_fps, train_mfu = [], {}, {}
for path in sorted(glob.glob(osp.join(sys.argv[1], 'gpu_check*.json'))):
    (r, ) = json.load(open(path))
    name, gen = osp.basename(path)[:-5], r.get('generation') or {}
    for phase in ('train', 'infer'):
        if f'{phase}_batch_size' not in r:
            continue
        oom = f'{phase}_oom' in r
        step = None if oom else statistics.median(r[f'{phase}_iter_s'])
        fps = None if oom else \
            r[f'{phase}_batch_size'] * r['num_frames'] / step
        captions = '-' if phase == 'train' or not gen else \
            f"{gen['max_length']}{' compiled' if gen['compile'] else ''}"
        rows.append([
            name, phase, str(r[f'{phase}_batch_size']),
            r.get('amp_dtype') or 'float32', ','.join(r['with_cp']) or '-',
            captions, fmt(fps, '.1f'), fmt(step, '.4f'),
            fmt(r.get(f'{phase}_tflops_per_s'), '.3g'),
            fmt(r.get(f'{phase}_mfu'), '.1%'),
            fmt(r.get(f'{phase}_peak_mem_mib'), '.0f'),
            'out of memory' if oom else ''])
        if phase == 'infer' and gen and fps:
            infer_fps[name] = fps
        if name.startswith('gpu_check_train_') and not oom:
            train_mfu[r['train_batch_size']] = r.get('train_mfu')
head = ['run', 'phase', 'B', 'autocast', 'with_cp', 'captions',
        'frames/s (median)', 'median s', 'TFLOP/s', 'MFU', 'peak MiB', '']
widths = [max(len(row[i]) for row in rows + [head]) for i in range(len(head))]
for row in [head] + rows:
    print('| ' + ' | '.join(c.ljust(w) for c, w in zip(row, widths)) + ' |')
best = max(infer_fps, key=infer_fps.get) if infer_fps else None
print('target: full inference (masks + captions) >= 170 frames/s; best: '
      f'{fmt(infer_fps.get(best), ".1f")} ({best})')
largest = max(train_mfu) if train_mfu else None
print('target: training MFU >= 25 % at the largest batch that fits; '
      f'batch {largest}: {fmt(train_mfu.get(largest), ".1%")}')
EOF
}

if [ "$DRY_RUN" = 1 ]; then
  log "dry run on the CPU: no install, no mmcv build"
  # compiling the decode step takes about 30 s per shape on the CPU: not
  # in the dry run; training at batch 1 only
  INFER_RUNS=${INFER_RUNS:-15_eager} TRAIN_BATCHES=${TRAIN_BATCHES:-1} \
    measure cpu --num-frames 2 --shape 64 64 --iters 1 --warmup 0 \
    ${CHECK_ARGS:-}
  exit 0
fi

"$PY" -c "import torch, sys; sys.exit(not torch.cuda.is_available())" || {
  log "no CUDA device visible to $PY (DRY_RUN=1 runs on the CPU)" >&2
  exit 1
}
start=$(date +%s)
# 1. the wheels (no index, no dependencies: everything is in $WHEELS or
#    already installed with PyTorch)
log "installing $(ls "$WHEELS"/*.whl | wc -l) wheels from $WHEELS into $SITE"
"$PY" -m pip install -q --no-index --no-deps --no-compile --upgrade \
  --target "$SITE" "$WHEELS"/*.whl
export PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}"

# 2. mmcv 2.1.0 with CUDA ops for this device's architecture, all cores.
#    The sdist's setup.py needs pkg_resources (setuptools<70, a wheel in
#    $WHEELS installed into its own folder, only for the build).
#    A wheel built earlier on such a machine may be among the wheels: then
#    nothing is built. The probe's verdict is read from its output, not its
#    exit status (it segfaulted once on the H100 image; cause unknown).
probe=$("$PY" -c "from mmcv.ops import get_compiling_cuda_version as v; print('cuda ops:', v() != 'not available', flush=True)" 2>/dev/null || true)
if [[ $probe == *"cuda ops: True"* ]]; then
  log "mmcv with CUDA ops present"
else
  arch=$("$PY" -c "import torch; print('%d.%d' % torch.cuda.get_device_capability())")
  log "building mmcv with CUDA ops for sm_${arch/./} on $(nproc) cores"
  build_tools=/tmp/rassu_build_tools
  "$PY" -m pip install -q --no-index --no-deps --target "$build_tools" \
    "$WHEELS"/setuptools-*.whl
  PYTHONPATH="$build_tools:$PYTHONPATH" MMCV_WITH_OPS=1 FORCE_CUDA=1 \
    TORCH_CUDA_ARCH_LIST="$arch" MAX_JOBS=$(nproc) \
    "$PY" -m pip wheel -q --no-index --no-deps --no-build-isolation \
    -w "$OUT_DIR/mmcv_wheel" "$WHEELS"/mmcv-2.1.0.tar.gz \
    >"$OUT_DIR/mmcv_build.log" 2>&1 || {
      log "mmcv build failed; the end of $OUT_DIR/mmcv_build.log:"
      tail -n 40 "$OUT_DIR/mmcv_build.log"
      exit 1
    }
  "$PY" -m pip install -q --no-index --no-deps --upgrade --target "$SITE" \
    "$OUT_DIR"/mmcv_wheel/mmcv-*.whl
fi
log "set-up took $(( $(date +%s) - start )) s"

# 3. the measurement for 1 clip of 10 frames at 224x224 (AMP float16
#    unless said otherwise): training steps, inference frames/s, peak memory
INFER_RUNS=${INFER_RUNS:-15_eager 15_compiled 40_compiled} \
  TRAIN_BATCHES=${TRAIN_BATCHES:-1 2 4} measure cuda --amp --num-frames 10 --shape 224 224 --iters 10 --warmup 3 \
  ${CHECK_ARGS:-}
log "done in $(( $(date +%s) - start )) s: $OUT_DIR/gpu_check.json"
