#!/usr/bin/env bash
# Fill $WHEELS (default .whl) with what gpu_check.sh installs on a GPU
# machine without network: the mmcv 2.1.0 sdist, setuptools<70 for its build
# and the wheels of the OpenMMLab stack and of rassu_mm's other imports that
# a CUDA PyTorch image usually lacks, for that machine's Python and platform.
# Run it where PyPI is reachable, with the project's .venv set up (the
# versions are taken from it, so both machines run the same code).
#
#   bash tools/analysis_tools/gpu_check_prepare.sh
#
# Environment: WHEELS, TARGET_PYTHON (default 3.12), PY (default
# .venv/bin/python). Packages the image already has (PyTorch, numpy, scipy,
# opencv, transformers, tokenizers, matplotlib, ...) are not fetched.
set -euo pipefail
cd "$(dirname "$0")/../.."
WHEELS=${WHEELS:-.whl}
TARGET_PYTHON=${TARGET_PYTHON:-3.12}
PY=${PY:-.venv/bin/python}
PACKAGES="mmengine mmsegmentation mmdet addict yapf termcolor shapely
terminaltables pycocotools prettytable wcwidth ftfy librosa audioread soxr
pooch soundfile cffi pycparser decorator platformdirs"
mkdir -p "$WHEELS"
pins=()
for name in $PACKAGES; do
  pins+=("$name==$("$PY" -c "import importlib.metadata as m; print(m.version('$name'))")")
done
platforms=()
for tag in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 \
    manylinux2014_x86_64 manylinux1_x86_64 manylinux_2_24_x86_64; do
  platforms+=(--platform "$tag")
done
"$PY" -m pip download -q --no-deps --only-binary=:all: \
  --python-version "$TARGET_PYTHON" --implementation cp "${platforms[@]}" \
  -d "$WHEELS" "${pins[@]}" "setuptools<70"
# metadata of the sdist needs pkg_resources and torch: the venv has both
"$PY" -m pip download -q --no-deps --no-binary=:all: --no-build-isolation \
  -d "$WHEELS" mmcv==2.1.0
du -sh "$WHEELS"
ls "$WHEELS"
