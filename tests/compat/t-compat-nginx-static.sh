#!/bin/bash
# Compatibility matrix: nginx, the static case (see nginx_row.sh).
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"
NGX_CASE=static
# shellcheck source=nginx_row.sh
. "$CX_SRC/nginx_row.sh"
