#!/usr/bin/env bash
# Idempotent environment set-up used by `make setup` (and so by `make test`
# and `make demo`). Every step first checks whether its result is already
# there, so a second run with everything present takes seconds.
#   VENV      virtual environment folder (default .venv)
#   PYTHON    interpreter used to create it (default python3)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
MMCV_VERSION=${MMCV_VERSION:-2.1.0}

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtual environment in $VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip wheel
fi
PY="$VENV/bin/python"
PIP="$PY -m pip"

# 1. torch: keep a working one (CPU or CUDA); otherwise the CPU 2.13 build.
if "$PY" -c "import torch" 2>/dev/null; then
  log "torch $("$PY" -c 'import torch; print(torch.__version__)') present"
else
  log "installing torch"
  $PIP install -q "torch==${TORCH_VERSION:-2.13.0}" numpy
fi

# 2. mmcv with compiled ops: keep a working one, else build from the sdist.
if "$PY" -c "import mmcv, mmcv.ops; from mmcv.ops import MultiScaleDeformableAttention; assert mmcv.__version__ < '2.2.0'" 2>/dev/null; then
  log "mmcv $("$PY" -c 'import mmcv; print(mmcv.__version__)') with ops present"
else
  log "building mmcv ${MMCV_VERSION} with ops (first time ~11 min on 2 cores; pip caches the wheel)"
  # The sdist's setup.py needs pkg_resources (setuptools<70) and torch at
  # build time, hence no build isolation.
  $PIP install -q "setuptools<70" wheel numpy ninja psutil
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} \
    $PIP install --no-build-isolation "mmcv==${MMCV_VERSION}"
fi

# 3. everything else, then the package itself in editable mode.
if "$PY" - <<'PYEOF' 2>/dev/null
import importlib.metadata as md, sys
from packaging.requirements import Requirement
reqs = []
for f in ('requirements/runtime.txt', 'requirements/mminstall.txt',
          'requirements/tests.txt'):
    reqs += [l.strip() for l in open(f) if l.strip() and not l.startswith('#')]
for r in map(Requirement, reqs):
    if md.version(r.name) not in r.specifier:
        sys.exit(1)
md.version("rassu_mm")  # editable install present
PYEOF
then
  log "requirements present"
else
  log "installing requirements"
  $PIP install -q -r requirements.txt
  $PIP install -q --no-build-isolation --no-deps -e .
fi

# 4. Java for pycocoevalcap's METEOR and PTB tokenizer.
if command -v java >/dev/null 2>&1; then
  log "java present: $(java -version 2>&1 | head -n 1)"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  log "installing a Java runtime for METEOR (apt-get)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq default-jre-headless >/dev/null
else
  log "WARNING: no Java runtime found. METEOR is skipped and captions are" \
      "tokenised in Python. Install one, e.g. 'sudo apt-get install default-jre-headless'."
fi

# 5. Headless Chromium for the tests of the HTML results pages (their
#    scripts run in a real browser); only tests use it.
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
    || command -v google-chrome >/dev/null 2>&1; then
  log "chromium present"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  log "installing chromium for the HTML page tests (apt-get)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq chromium >/dev/null
else
  log "WARNING: no chromium found; the browser tests of the HTML pages are" \
      "skipped. Install it, e.g. 'sudo apt-get install chromium'."
fi
log "done"
