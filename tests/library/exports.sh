#!/usr/bin/env bash
# The shared library exports the header's API (every GBX_API function) and nothing else.
# usage: exports.sh LIBGLASSBOX.so include/glassbox.h
set -euo pipefail
library=$1 header=$2
api=$(grep -oE '^GBX_API .*\bgbx_[a-z0-9_]+\(' "$header" | grep -oE 'gbx_[a-z0-9_]+\($' | tr -d '(' | sort)
exported=$(nm -D --defined-only "$library" | awk '{print $3}' | sed 's/@.*//' | sort)
extra=$(comm -13 <(echo "$api") <(echo "$exported"))
missing=$(comm -23 <(echo "$api") <(echo "$exported"))
status=0
if [ -n "$extra" ]; then
    echo "exported but not in the header:" $extra >&2
    status=1
fi
if [ -n "$missing" ]; then
    echo "in the header but not exported (or not defined):" $missing >&2
    status=1
fi
[ "$status" = 0 ] && echo "exports: $(echo "$api" | wc -l) functions, all of them the header's"
exit $status
