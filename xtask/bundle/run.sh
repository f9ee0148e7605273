#!/usr/bin/env bash
# The GPU bundle's check, made by `cargo xtask gpu-bundle`: needs no Rust and no network.
#
#   ./run.sh [--quick] [--out DIR]
#
# Unpacks `jeat` (built with the cuda and wgpu backends), makes a Vulkan loader available where
# the system has none (from the Debian packages in debs/), points CUDA_PATH at a toolkit with
# libdevice, then on each of cuda and wgpu: `jeat selftest` (correctness against the CPU
# backend and committed PyTorch values) and `jeat bench` (the GPU workloads), and the same
# workloads in the machine's own PyTorch on CUDA. Writes report.md and report.json to DIR
# ($OUT where set, else ./out). --quick: tiny shapes, for checking the bundle itself (lavapipe).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
quick=""
out="${OUT:-$PWD/out}"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick="--quick" ;;
    --out) out="$2"; shift ;;
    *) echo "run.sh: unknown argument $1 (known: --quick, --out DIR)" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log="$out/run.log"
say() { echo "run.sh: $*" | tee -a "$log"; }
started=$(date +%s)

# The binary.
xz -dc "$here/jeat.xz" > "$work/jeat" && chmod +x "$work/jeat" || { say "could not unpack jeat.xz (needs xz)"; exit 1; }
jeat="$work/jeat"

# Vulkan: wgpu needs the loader libvulkan.so.1; the driver's ICD comes with the NVIDIA driver.
if ! { ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null; } | grep -q "libvulkan.so.1"; then
  for deb in "$here"/debs/*.deb; do
    [ -e "$deb" ] && dpkg -x "$deb" "$work/vulkan"
  done
  if ls "$work"/vulkan/usr/lib/*/libvulkan.so.1 >/dev/null 2>&1; then
    export LD_LIBRARY_PATH="$(dirname "$(ls "$work"/vulkan/usr/lib/*/libvulkan.so.1 | head -1)")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    say "no system Vulkan loader: using libvulkan1 from debs/"
  else
    say "no Vulkan loader: the system has no libvulkan.so.1 and debs/ holds no libvulkan1 package; wgpu will fail"
  fi
fi
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ]; then export VK_DRIVER_FILES="$icd"; fi
done

# CUDA: the driver, and a toolkit with nvvm/libdevice for the LLVM code path.
backends="wgpu"
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee -a "$log"
  if [ -z "${CUDA_PATH:-}" ]; then
    searched=""
    for dir in /usr/local/cuda /usr/local/cuda-* /opt/cuda /usr/lib/cuda; do
      searched="$searched $dir"
      if [ -f "$dir/nvvm/libdevice/libdevice.10.bc" ]; then export CUDA_PATH="$dir"; break; fi
    done
  fi
  if [ -n "${CUDA_PATH:-}" ] && [ -f "$CUDA_PATH/nvvm/libdevice/libdevice.10.bc" ]; then
    say "CUDA_PATH=$CUDA_PATH"
    backends="cuda wgpu"
  else
    say "a CUDA toolkit without nvvm/libdevice/libdevice.10.bc (searched: ${CUDA_PATH:-$searched}); set CUDA_PATH; cuda skipped"
  fi
else
  say "no NVIDIA driver (nvidia-smi finds no GPU): cuda skipped; wgpu runs on whatever Vulkan device there is"
fi

"$jeat" backends 2>&1 | tee -a "$log"
workloads="wrn-34-10-pgd10-at-iteration,wrn-34-10-attack-step,wrn-16-4-sgld-step,inception-50,wrn-16-4-autoattack-20"
repeats=3
[ -n "$quick" ] && { workloads="wrn-34-10-pgd10-at-iteration,wrn-16-4-sgld-step,wrn-16-4-autoattack-20"; repeats=1; }
status=0
for backend in $backends; do
  # The full selftest on cuda (its flex half runs AutoAttack standard on 20 points: about a
  # minute on 16 cores); wgpu gets the quick one, to keep the run inside 8 minutes.
  checks="$quick"
  [ "$backend" = "wgpu" ] && checks="--quick"
  say "selftest on $backend $checks"
  timeout 200 "$jeat" --backend "$backend" selftest $checks --json "$out/selftest-$backend.json" 2>&1 | tee -a "$log" || status=1
  say "bench on $backend"
  timeout 120 "$jeat" --backend "$backend" bench $quick --workloads "$workloads" --repeats "$repeats" --json "$out/bench-$backend.json" 2>&1 | tee -a "$log" || say "bench on $backend failed or timed out"
done

# PyTorch beside it, on CUDA (on the CPU only under --quick, to show the script runs).
python="${JEAT_PYTHON:-python3}"
device=""
if "$python" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  device="cuda"
elif [ -n "$quick" ] && "$python" -c "import torch" 2>/dev/null; then
  device="cpu"
else
  say "PyTorch side skipped: $python has no torch with CUDA"
fi
if [ -n "$device" ]; then
  # Inception needs FID weights the bundle does not carry (87 MB); AutoAttack the official code.
  py_workloads="${workloads//,inception-50/}"
  if ! PYTHONPATH="$here/python-packages${PYTHONPATH:+:$PYTHONPATH}" "$python" -c "import autoattack" 2>/dev/null; then
    py_workloads="${py_workloads//,wrn-16-4-autoattack-20/}"
    say "PyTorch AutoAttack skipped: no official autoattack package"
  fi
  say "PyTorch on $device: $py_workloads"
  PYTHONPATH="$here/python-packages${PYTHONPATH:+:$PYTHONPATH}" timeout 120 "$python" "$here/xtask/python/bench_workloads.py" \
    --device "$device" --workloads "$py_workloads" --repeats "$repeats" $quick --json "$out/pytorch.json" 2>&1 | tee -a "$log" \
    || say "PyTorch side failed or timed out"
fi

python3 "$here/report.py" "$out" $quick 2>&1 | tee -a "$log" || status=1
say "done in $(( $(date +%s) - started )) s; report: $out/report.md"
exit $status
