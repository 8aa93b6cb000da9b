#!/usr/bin/env bash
# make install into a temporary DESTDIR, then the embedding example compiled against the
# installed tree through pkg-config alone, and run.
# usage: install.sh BUILD_DIRECTORY [EXTRA_CFLAGS]
set -euo pipefail
build=$1 extra=${2:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
DESTDIR="$work/root" cmake --install "$build" >/dev/null
pc=$(find "$work/root" -name glassbox.pc)
[ -n "$pc" ] || { echo "install: no glassbox.pc installed" >&2; exit 1; }
for file in include/glassbox.h include/glassbox_plugin.h lib/libglassbox.a bin/glassbox; do
    find "$work/root" -path "*/$file" | grep -q . || { echo "install: no $file" >&2; exit 1; }
done
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR="$work/root"
flags=$(pkg-config --cflags --libs glassbox)
echo "pkg-config --cflags --libs glassbox: $flags"
# shellcheck disable=SC2086
cc -std=c11 -Wall -Wextra -Werror $extra examples/embed.c $flags -o "$work/embed"
libdir=$(pkg-config --libs-only-L glassbox | sed 's/^ *-L//; s/ *$//')
LD_LIBRARY_PATH="$libdir" "$work/embed" examples/credit_model.json \
    examples/data/german_credit.csv examples/credit_features.json examples/credit_groups.json \
    "$work/e.json"
"$(find "$work/root" -path '*/bin/glassbox')" --version
