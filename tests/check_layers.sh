#!/usr/bin/env bash
# check_layers.sh — common/'s layering (docs/architecture.md): each library folder
# includes only its own headers and those of the libraries below it. Prints every
# include that crosses a layer the wrong way; exit 1 when there is one.
set -u
cd "$(dirname "$0")/.."
declare -A allowed=(
  [base]="base"
  [blob]="base blob"
  [runtime]="base runtime"
  [budget]="base budget"
  [model]="base runtime model"
  [verify]="base blob verify"
  [route]="base runtime route"
  [render]="base blob runtime budget model route render"
)
bad=0
for lib in "${!allowed[@]}"; do
  for f in common/"$lib"/*.[ch]; do
    while IFS= read -r inc; do
      dir=${inc%%/*}
      [[ " ${allowed[$lib]} " == *" $dir "* ]] && continue
      echo "$f includes \"$inc\": $lib may include only ${allowed[$lib]// /, }"
      bad=1
    done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
  done
done
# No library header pulls in libcurl's or cairo's API except the one that wraps it.
for f in common/*/*.h; do
  case $f in common/model/*) continue ;; esac
  grep -q '#include <curl/' "$f" && { echo "$f includes curl: only common/model/ may"; bad=1; }
done
for f in $(grep -l '#include <cairo' common/*/*.[ch] 2>/dev/null); do
  echo "$f includes cairo: drawing lives in tools/pressroom-renderer/"; bad=1
done
[ $bad -eq 0 ] && echo "layers ok"
exit $bad
