#!/usr/bin/env bash
# GPU checks for a lent device machine (README "Benchmarks and GPU checks"). The machine has torch
# but no Ray/Optuna and no network: their wheels travel in .whl/ (Ray as a tarball without rllib,
# serve, llm and the Java jars, to fit the 64 MiB transfer limit), made by
# benchmarks/fetch_device_wheels.sh.
set -u
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
tar -C /tmp/site -xJf .whl/ray_pruned.tar.xz || exit 1
tar -C /tmp/site -xJf .whl/pot_pruned.tar.xz || exit 1
export PYTHONPATH=/tmp/site:$PWD
export TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S=0
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, ray, optuna, ot; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'ray', ray.__version__, 'optuna', optuna.__version__, 'POT', ot.__version__)"
echo "== GPU tests (compile_step's CUDA graph against eager, resume in either mode)"
timeout 120 python3 -m pytest -q -p no:cacheprovider tests/test_train_step.py 2>&1 | tail -5
if [ -z "${SKIP_THROUGHPUT:-}" ]; then
  echo "== trainer throughput (cuda)"
  timeout 240 python3 benchmarks/trainer_throughput.py --device cuda --epochs 3 --repeats 2 --n-samples 50000 --batch-size 1024 --compile-step
fi
echo "== fractional-GPU search: 4 trials share the GPU (gpu 0.25 each)"
timeout 200 python3 -m tune_flow.search --space search_spaces/arch.yaml --gpus-per-trial 0.25 --cpus-per-trial 2 \
  --num-samples 8 --max-epochs 12 --no-dashboard --num-cpus 16 --storage-path /tmp/res --name gpu --verbose 2>&1 \
  | grep -E "device cuda|search 'gpu'|top |rank|^[0-9] |stop reasons|Error|error" | head -40
echo "== search with the whole step compiled (--set compile_step=true: CUDA graphs in every trial)"
timeout 200 python3 -m tune_flow.search --space search_spaces/arch.yaml --set compile_step=true \
  --gpus-per-trial 0.25 --cpus-per-trial 2 --num-samples 8 --max-epochs 12 --no-dashboard --num-cpus 16 \
  --storage-path /tmp/res --name gpucompiled --verbose 2>&1 \
  | grep -E "device cuda|search 'gpucompiled'|top |rank|^[0-9] |stop reasons|Error|error" | head -40
if [ -z "${SKIP_W2:-}" ]; then
  echo "== search ranked by the in-trial w2 on the GPU (sample metrics on cuda, best_eval.json)"
  timeout 200 python3 -m tune_flow.search --space search_spaces/arch.yaml --metric w2 --gpus-per-trial 0.25 \
    --cpus-per-trial 2 --num-samples 8 --max-epochs 20 --no-dashboard --num-cpus 16 --storage-path /tmp/res \
    --name gpuw2 2>&1 | grep -E "ASHA rungs|device cuda|top |rank|^[0-9] |best trial on the test|pruned|Error|error" | head -30
  python3 -c "import json; print(json.load(open('/tmp/res/gpuw2/best_eval.json')))"
fi
if [ -z "${SKIP_PACKING:-}" ]; then
  echo "== GPU packing"
  timeout 240 python3 benchmarks/gpu_packing.py --epochs 6 --cpus-per-trial 1
fi
