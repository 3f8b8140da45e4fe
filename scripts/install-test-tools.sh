#!/usr/bin/env bash
# Installs what the export tests check vmowner's files with, only what is missing:
# headless Chromium (the flame graph SVG), protoc and the official profile.proto from
# golang-github-google-pprof-dev (pprof files), and Python's protobuf package.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh chromium fonts-dejavu-core protobuf-compiler golang-github-google-pprof-dev
# protoc 3.21 (Debian 12) writes Python code for protobuf 4.21 and later 4.x.
python3 -c 'import google.protobuf' 2>/dev/null || python3 -m pip install --quiet 'protobuf>=4.21,<5'
