#!/bin/bash
# Compatibility matrix: haproxy in TCP mode without splicing (see haproxy_row.sh).
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"
HAP_SPLICE=no
# shellcheck source=haproxy_row.sh
. "$CX_SRC/haproxy_row.sh"
