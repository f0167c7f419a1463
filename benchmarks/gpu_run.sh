#!/bin/bash
# Runs benchmarks/gpu_seeds.py on a GPU machine that has JAX with CUDA but not rlab's physics
# dependencies and no package registry: they travel as wheels in .whl/ (ignored by git).
#
# Once, where pip reaches a registry (from the repository's root; CPython 3.12 on x86-64 Linux):
#
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
#       --platform manylinux2014_x86_64 -d .whl \
#       brax==0.14.2 mujoco==4.0.1 mujoco-core==4.0.1 mujoco-mjx==3.17.0 trimesh==5.2.0 ml-collections==1.1.0 \
#       jaxopt==0.8.5 tensorboardX==2.6.5 tomli-w==1.2.0 flask flask-cors
#   (add mujoco's own requirements the machine lacks: `unzip -p .whl/mujoco-*.whl '*/METADATA' | grep
#   ^Requires-Dist` lists them; rejax and its requirements only to try it as a peer)
#
# Then, with the machine's own JAX (CUDA) kept, carrying .whl:
#
#   bash benchmarks/gpu_run.sh            # the table into $OUT/gpu_seeds.txt (about 8 minutes)
#   bash benchmarks/gpu_run.sh --seeds 1 64 --tasks brax_reacher --seconds 2   # a shorter look
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
out="${OUT:-.}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu_seeds.txt"
python3 -c "import jax; print('jax', jax.__version__, jax.devices())" | tee -a "$out/gpu_seeds.txt"
python3 benchmarks/gpu_seeds.py --trace /tmp/rlab_trace "$@" 2>&1 | grep -v "Warning\|warnings.warn" | tee -a "$out/gpu_seeds.txt"
