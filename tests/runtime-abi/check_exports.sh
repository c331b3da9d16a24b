#!/usr/bin/env bash
# Every binding .so exports zb_binding_init and no other symbol of its own.
set -euo pipefail
dir=${1:?bindings dir}
shopt -s nullglob
found=0
status=0
for so in "$dir"/libbinding-*.so; do
  found=1
  symbols=$(nm -D --defined-only "$so" | awk '{print $3}' | sort -u)
  if [ "$symbols" != "zb_binding_init" ]; then
    echo "FAIL $so exports more than zb_binding_init:"
    echo "$symbols" | sed 's/^/  /'
    status=1
  else
    echo "ok   $so"
  fi
done
if [ "$found" = 0 ]; then
  echo "no binding .so found in $dir"
  exit 1
fi
exit $status
