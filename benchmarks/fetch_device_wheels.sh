#!/usr/bin/env bash
# Prepare .whl/ (git-ignored) for benchmarks/device_check.sh: the lent GPU machines run Python 3.12
# with torch but without Ray/Optuna and without network. Ray's wheel (79 MB) is over the 64 MiB
# transfer limit, so it travels as a tarball pruned of rllib, serve, llm and its Java jars (~31 MB).
# Usage: bash benchmarks/fetch_device_wheels.sh   (then: echo /.whl/ >> .git/info/exclude)
set -euo pipefail
cd "$(dirname "$0")/.."
PLATFORMS="--platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64"
DL="python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp $PLATFORMS"
mkdir -p .whl
# What `import ray.tune, optuna, tune_flow.search` and the sample metrics (POT) need beyond the
# machine's own packages.
$DL -d .whl optuna==5.0.0 alembic==1.16.5 mako==1.3.10 sqlalchemy==2.0.43 colorlog==6.9.0 \
  greenlet==3.2.4 tensorboardX==2.6.5 jsonschema==4.25.1 referencing==0.36.2 rpds-py==0.27.1 \
  jsonschema-specifications==2025.9.1 pydantic==2.14.4 pydantic_core==2.50.5 \
  annotated-types==0.8.0 typing-inspection==0.4.5
tmp=$(mktemp -d)
$DL -d "$tmp" ray==2.60.0
(cd "$tmp" && unzip -q ray-*.whl && rm -rf ray-*.whl ray/jars ray/rllib ray/serve ray/llm \
  && find . -name __pycache__ -prune -exec rm -rf {} +)
tar -C "$tmp" -cf - . | xz -T2 -6 > .whl/ray_pruned.tar.xz
rm -rf "$tmp"
# POT (exact W2) is 33 MB, 167 MB of it one BSP-OT extension tune_flow never calls: it travels as a
# tarball with that subpackage replaced by a stub (ot/__init__ imports its two names).
tmp=$(mktemp -d)
$DL -d "$tmp" pot==0.9.7
(cd "$tmp" && unzip -q pot-*.whl && rm -f pot-*.whl && rm -rf ot/bsp/bsp_wrap*.so \
  && printf 'def compute_bspot_bijection(*a, **k):\n    raise NotImplementedError("pruned for the device")\n\n\nmerge_bijections = compute_bspot_bijection\n' > ot/bsp/bsp_ot.py)
tar -C "$tmp" -cf - . | xz -T2 -6 > .whl/pot_pruned.tar.xz
rm -rf "$tmp"
du -sh .whl
