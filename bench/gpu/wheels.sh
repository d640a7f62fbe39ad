#!/usr/bin/env bash
# Fills .whl/ with the wheels the lent GPU machine lacks (it has Python 3.12, PyTorch and
# peft, but not TRL, datasets, bitsandbytes, pydantic or Liger): those packages at the
# versions this venv has (the machine's own peft, accelerate, tokenizers, huggingface-hub
# and datasets' dependencies are used as they are). About 60 MB, under the 64 MiB a device
# call can carry:
#
#   bash bench/gpu/wheels.sh            # here, once (needs the package index)
#   run: bash bench/gpu/device.sh "$OUT"   with carry [".whl"]   (see bench/TRAINING.md)
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck disable=SC1091
. .venv/bin/activate

LIGER_VERSION=0.8.5
installed() { python -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$1"; }

wanted=("liger-kernel==$LIGER_VERSION")
# The optimizers' own packages: check_gpu_paths.py trains with every optimizer the seed lists.
for name in trl datasets transformers pydantic pydantic-core bitsandbytes dill multiprocess \
            typing-inspection annotated-types galore-torch lomo-optim grokadamw schedulefree torch-optimi \
            apollo-torch; do
  wanted+=("$name==$(installed "$name")")
done

# Into a new folder first: a failed download keeps the bundle that was there.
staging="$(mktemp -d .whl.new.XXXX)"
trap 'rm -rf "$staging"' EXIT
pip download --quiet --no-deps --only-binary=:all: --dest "$staging" \
  --python-version 3.12 --implementation cp --abi cp312 --abi abi3 --abi none \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform any \
  "${wanted[@]}"
rm -rf .whl
mv "$staging" .whl
ls -1 .whl
du -sh .whl
