#!/usr/bin/env bash
# Prepares the photographs of the super-resolution example (docs/super-resolution.md) from Debian's
# python3-skimage test data (public-domain pictures): OUT/train and OUT/heldout, disjoint.
# The held-out photos are never seen in training; the stereo pair motorcycle_left/right stays together
# in the training set so no near-duplicate crosses the split.
# Usage: tools/sr_photos.sh [OUT]   (default build/sr_photos; needs python3-skimage: make sr-photos installs it)
set -euo pipefail
out="${1:-build/sr_photos}"
data=$(/usr/bin/python3 -c "import os, skimage; print(os.path.join(os.path.dirname(skimage.__file__), 'data'))" \
  2>/dev/null) || { echo "sr_photos: python3-skimage is not installed (tools/setup_deps.sh --photos installs it)" >&2; exit 1; }
train=(brick.png camera.png cell.png coins.png grass.png gravel.png hubble_deep_field.jpg ihc.png moon.png
       motorcycle_left.png motorcycle_right.png page.png retina.jpg text.png)
heldout=(astronaut.png chelsea.png coffee.png rocket.jpg)
rm -rf "$out/train" "$out/heldout"
mkdir -p "$out/train" "$out/heldout"
for f in "${train[@]}"; do cp "$data/$f" "$out/train/"; done
for f in "${heldout[@]}"; do cp "$data/$f" "$out/heldout/"; done
echo "sr_photos: ${#train[@]} training and ${#heldout[@]} held-out photographs in $out (from $data)"
