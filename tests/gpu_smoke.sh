#!/usr/bin/env bash
# GPU smoke test: a random 256x256 config-f StyleGAN2; a projector trained for 200 steps and a rewrite (eyes ->
# sunglasses) of 200 steps, every step's speed printed, first in float32, then in bfloat16 autocast. Under 5 minutes
# on one GPU (the whole script is limited to 300 s).
#   bash tests/gpu_smoke.sh          # on a machine with a CUDA GPU
#   bash tests/gpu_smoke.sh --cpu    # the same code on the CPU, tiny settings, 3 steps each: a check that it runs
#   COMPILE=1 bash tests/gpu_smoke.sh   # a third pass with torch.compile (compilation time counts against the 300 s)
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [ "${1:-}" = "--cpu" ]; then
  args=(--device cpu --tiny --steps "${STEPS:-3}" --threads "${THREADS:-1}")
else
  python3 -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 'no CUDA GPU here: run bash tests/gpu_smoke.sh --cpu for the tiny CPU check')"
  args=(--device cuda --steps "${STEPS:-200}")
fi
start=$SECONDS
left() { echo $((300 - (SECONDS - start))); }
echo "== float32"; timeout "$(left)" python3 -m regen_nb.real_checkpoint smoke "${args[@]}"
echo "== bfloat16 autocast"; timeout "$(left)" python3 -m regen_nb.real_checkpoint smoke "${args[@]}" --amp
if [ -n "${COMPILE:-}" ]; then echo "== bfloat16 + torch.compile"; timeout "$(left)" python3 -m regen_nb.real_checkpoint smoke "${args[@]}" --amp --compile; fi
echo "gpu_smoke: passed in $((SECONDS - start)) s"
