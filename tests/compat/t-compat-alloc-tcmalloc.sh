#!/bin/bash
# Compatibility matrix: tcmalloc (libtcmalloc-minimal4) preloaded before and after the shim, Python echo transfer.
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"
CX_ALLOC_PKG=libtcmalloc-minimal4
CX_ALLOC_LIB=${CX_ALLOC_LIB:-/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4}
# shellcheck source=alloc_row.sh
. "$CX_SRC/alloc_row.sh"
