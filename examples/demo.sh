#!/usr/bin/env bash
# The samerun tour on a real project: record a seeded scikit-learn training twice and with a
# changed param, list the runs, show one, and compare the fingerprints.
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
step "record it again: same inputs" \
  samerun record --name again --seed 42 --config config.yaml \
  --output model.pkl --output metrics.json -- python train.py
step "record with a changed param" \
  samerun record --name stronger-reg --seed 42 --config config.yaml -p model.C=0.05 \
  --output model.pkl --output metrics.json -- python train.py
step "list the runs" samerun runs
step "show the last run" samerun show last

printf '\n== compare fingerprints (samerun runs --json)\n'
samerun runs --json | python -c '
import json, sys

runs = {r["name"]: r for r in json.load(sys.stdin)}
base, again, changed = runs["baseline"], runs["again"], runs["stronger-reg"]

def same(a, b, key):
    return a[key + "_fingerprint"] == b[key + "_fingerprint"]

print("baseline vs again:        inputs", "equal" if same(base, again, "input") else "differ",
      "| outputs", "identical" if same(base, again, "output") else "differ")
print("baseline vs stronger-reg: inputs", "equal" if same(base, changed, "input") else "differ")
if not (same(base, again, "input") and same(base, again, "output")):
    sys.exit("the re-run with the same inputs did not reproduce")
'
echo
echo "== done: the store is in $work/.samerun"
