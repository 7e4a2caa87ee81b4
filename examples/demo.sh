#!/usr/bin/env bash
# The samerun tour on a real project: record a seeded scikit-learn training, verify that it
# reproduces, record it again with a changed param, list and show the runs, diff two of them,
# check this Python against the recorded environment and export it as a lock file.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)/sklearn-classifier"
cp -r "$here/sklearn-classifier" "$work"
cd "$work"
git init -q -b main
git add -A
git -c user.name=demo -c user.email=demo@example.com commit -q -m "example project"
echo "== the example project is a git repository in $work"

step() { printf '\n== %s\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }

step "record a seeded training run" \
  samerun record --name baseline --seed 42 --config config.yaml \
  --output model.pkl --output metrics.json -- python train.py
step "verify it: replay in an isolated worktree and compare" samerun verify last
step "record with a changed param" \
  samerun record --name stronger-reg --seed 42 --config config.yaml -p model.C=0.05 \
  --output model.pkl --output metrics.json -- python train.py
step "list the runs" samerun runs
step "show the last run" samerun show last
baseline="$(samerun runs --json | python -c 'import json, sys; print(next(r["id"] for r in json.load(sys.stdin) if r["name"] == "baseline"))')"
step "diff the baseline and the changed run, layer by layer" samerun diff "$baseline" last
step "check that this Python still matches the baseline's environment" samerun env check "$baseline"
step "export the baseline's environment as a pinned lock file" \
  samerun env export "$baseline" --format requirements -o requirements.lock
grep -c '==' requirements.lock | xargs printf '   %s packages pinned in requirements.lock\n'
echo
echo "== done: the store is in $work/.samerun"
