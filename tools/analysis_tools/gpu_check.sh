#!/usr/bin/env bash
# The prepared GPU check: on one CUDA GPU with PyTorch preinstalled and no
# network, install the wheels handed over in $WHEELS, build mmcv 2.1.0 with
# CUDA ops from the local sdist, then measure the paper config (a few AMP
# training steps; inference frames/s and peak GPU memory for 1 clip of 10
# frames at 224x224) into $OUT_DIR/gpu_check.json (the segmentation path
# alone: gpu_check_segmentation.json). About 10 minutes on a
# 16-core machine, most of it the mmcv build (docs/benchmarks.md).
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
#            (what the test suite runs)
#   CHECK_ARGS  extra arguments of gpu_check.py (e.g. --train-iters 10)
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
# reads the generated tokenizer, so no weight file is needed.
random_text_tower() {
  "$PY" - "$CONFIG" "$1" <<'EOF'
import sys
from mmengine.config import Config
head = Config.fromfile(sys.argv[1]).model.get('caption_head') or {}
for key in ('loss_clip', 'loss_rcc'):
    if (head.get(key) or {}).get('pretrained'):
        print(f'model.caption_head.{key}.pretrained=None '
              f'model.caption_head.{key}.tokenizer={sys.argv[2]}')
EOF
}
measure() {
  local device=$1; shift
  local tokenizer="$OUT_DIR/tokenizer"
  "$PY" tools/dataset_converters/make_synthetic.py --no-progress \
    --out-dir "$OUT_DIR/captions" --num-train 16 --num-val 1 --num-test 1
  "$PY" tools/build_tokenizer.py "$OUT_DIR/captions/annotations/train.json" \
    "$tokenizer"
  # the whole model: training steps, then masks + captions
  "$PY" tools/analysis_tools/benchmark.py "$CONFIG" --synthetic-inputs \
    --device "$device" --batch-size 1 --out "$OUT_DIR/gpu_check.json" \
    --cfg-options model.caption_head.tokenizer="$tokenizer" \
    $(random_text_tower "$tokenizer") "$@"
  # the segmentation path alone (masks only), inference
  "$PY" tools/analysis_tools/benchmark.py "$CONFIG" --synthetic-inputs \
    --device "$device" --batch-size 1 --phases infer \
    --out "$OUT_DIR/gpu_check_segmentation.json" \
    --cfg-options model.caption_head=None model.mask_collaboration=None "$@"
}

if [ "$DRY_RUN" = 1 ]; then
  log "dry run on the CPU: no install, no mmcv build"
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

# 3. the measurement: AMP training steps, inference frames/s and peak
#    memory for 1 clip of 10 frames at 224x224
measure cuda --amp --num-frames 10 --shape 224 224 --iters 10 --warmup 3 \
  ${CHECK_ARGS:-}
log "done in $(( $(date +%s) - start )) s: $OUT_DIR/gpu_check.json"
