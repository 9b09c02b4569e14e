#!/usr/bin/env bash
# Installs the Debian packages convgrad builds with, only those missing.
# apt-get update runs first when anything is missing; sudo is used when not root.
set -euo pipefail
# `--checks` adds what the sanitizer, fuzzing and format targets need (clang, its runtimes, clang-format).
packages=(cmake g++ make libdnnl-dev ocl-icd-opencl-dev libfmt-dev doctest-dev libcli11-dev libpng-dev libjpeg-dev zlib1g-dev)
# Data-parallel training runs over Open MPI (core/dist.h; launched with mpirun).
packages+=(libopenmpi-dev openmpi-bin)
# The examples draw their pictures with cairo (through pkg-config) and a real font.
packages+=(pkg-config libcairo2-dev fonts-dejavu-core)
[ "${1:-}" = "--checks" ] && packages+=(clang libclang-rt-14-dev libomp-14-dev clang-format)
# `--photos` adds the public-domain photographs of the super-resolution example (tools/sr_photos.sh).
[ "${1:-}" = "--photos" ] && packages+=(python3-skimage)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "convgrad: installing ${missing[*]}"
$sudo apt-get update
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
