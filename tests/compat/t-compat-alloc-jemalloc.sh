#!/bin/bash
# Compatibility matrix: jemalloc (libjemalloc2) preloaded before and after the shim, Python echo transfer.
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"
CX_ALLOC_PKG=libjemalloc2
CX_ALLOC_LIB=${CX_ALLOC_LIB:-/usr/lib/x86_64-linux-gnu/libjemalloc.so.2}
# shellcheck source=alloc_row.sh
. "$CX_SRC/alloc_row.sh"
