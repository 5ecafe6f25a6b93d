#!/usr/bin/env bash
# Renders the diagrams in docs/ from their sources (graphviz: apt install graphviz).
#   bash scripts/render-docs.sh
set -euo pipefail
cd "$(dirname "$0")/.."
for src in docs/*.dot; do
  dot -Tsvg "$src" -o "${src%.dot}.svg"
  echo "rendered ${src%.dot}.svg"
done
