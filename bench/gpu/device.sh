#!/usr/bin/env bash
# On the GPU machine: install the carried wheels (.whl/, from bench/gpu/wheels.sh) into
# /tmp/site, check the GPU-only trainer paths (check_gpu_paths.py, under a minute), then
# run the GPU benchmark. Arguments after the output folder go to bench_gpu_sft.py (e.g.
# --skip torchrun, --rows 6000). Exits 1 when a path check failed, after the benchmark.
#
#   bash bench/gpu/device.sh "$OUT" [bench_gpu_sft.py options]
set -euo pipefail
out="$(realpath -m "${1:?usage: device.sh OUTPUT_DIR [options]}")"  # before cd: relative to the caller
cd "$(dirname "$0")/../.."
shift
python3 -m pip install --quiet --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl
export PYTHONPATH="/tmp/site:$PWD" HF_HUB_OFFLINE=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -c "import torch, transformers, trl, peft, bitsandbytes; print('torch', torch.__version__, '| transformers', transformers.__version__, '| trl', trl.__version__, '| peft', peft.__version__, '| bitsandbytes', bitsandbytes.__version__)" \
  || echo "warning: a library failed to import; the cases that need it will fail" >&2
checks=0
python3 bench/gpu/check_gpu_paths.py --out "$out" || checks=1
python3 bench/gpu/bench_gpu_sft.py --out "$out" "$@"
exit "$checks"
