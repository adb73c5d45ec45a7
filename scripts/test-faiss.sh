#!/usr/bin/env bash
# Checks the README's NumPy + FAISS example against `coordinator recommend`: trains two short runs on synthetic
# data (cosine with a validation split, so the chosen epoch's best_*.npy answer; and dot product), asks `recommend`
# for the top 20 items of 60 users, runs the Python block of README.md (extracted from it, so the documentation
# cannot drift) for the same users, and compares the item lists. faiss-cpu and numpy come from PyPI into a venv
# cached under .cache/ (git-ignored). Needs the executables built (scripts/test.sh builds them first).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.cache/faiss-venv
if ! "$venv/bin/python" -c "import faiss, numpy" >/dev/null 2>&1; then
  echo "installing faiss-cpu and numpy into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "faiss-cpu==1.15.1" "numpy==2.4.6"
fi
bin=${MBT_BIN_DIR:-.build/debug}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
common=(--spawn-workers 2 --bind tcp://127.0.0.1:0 --epochs 2 --synthetic-users 600 --synthetic-items 400
        --batch-size 768 --dim 32 --negatives 256 --log-level warning)
for variant in cosine dot; do
  extra=(--similarity "$variant")
  [ "$variant" = cosine ] && extra+=(--validation-fraction 0.1)
  if ! "$bin/coordinator" "${common[@]}" "${extra[@]}" --output "$tmp/$variant" >"$tmp/$variant.log" 2>&1; then
    cat "$tmp/$variant.log" >&2
    echo "faiss example: the training run ($variant) failed" >&2
    exit 1
  fi
  cut -f2 "$tmp/$variant/users.tsv" | head -60 >"$tmp/users.txt"
  "$bin/coordinator" recommend --run "$tmp/$variant" --users "$tmp/users.txt" --k 20 --output "$tmp/$variant.tsv"
  "$venv/bin/python" scripts/check_faiss_example.py README.md "$tmp/$variant" "$tmp/users.txt" "$tmp/$variant.tsv"
done
