#!/usr/bin/env bash
# Regenerate the README's pictures from this checkout (offscreen; about a minute). Run from the repo root.
set -euo pipefail
export QT_QPA_PLATFORM=offscreen
bin=.venv/bin
$bin/latent-explorer --scene examples/talk.json --screenshot docs/plane.png --size 1280x720
$bin/latent-explorer --scene examples/talk.json --presentation --screenshot docs/presentation.png --size 1280x720
$bin/latent-explorer assets/mnist-5k-vae.safetensors --underlay --screenshot docs/underlay-mnist.png --size 1280x720
$bin/latent-explorer --scene examples/compare-beta.json --screenshot docs/compare.png --size 1280x720
$bin/latent-explorer --scene examples/eight-d.json --screenshot docs/eight-d.png --size 1280x720
$bin/python docs/make_gif.py
$bin/python docs/make_talk.py
