#!/bin/bash
# The shim exports exactly the symbols its version script lists (interposed libc entry points
# and faasflow_*), nothing else: no ff_*, no log_*, no helpers of the common code.
. "$ST_SRCDIR/lib.sh"

MAP=$ST_SRCDIR/../../preload/libfaasflow_intercept.map
nm -D --defined-only "$SHIM" | awk '{print $3}' | sed 's/@.*//' | sort -u >"$T/exported"
sed -n '/global:/,/local:/p' "$MAP" | grep -v 'global:\|local:' | tr ';' '\n' |
	tr -d ' \t' | grep -v '^$' | sort -u >"$T/listed"

# case: every exported symbol is listed (faasflow_* by its pattern)
extra=$(grep -v '^faasflow_' "$T/exported" | comm -23 - "$T/listed")
if [ -z "$extra" ] && [ -s "$T/exported" ]; then
	st_pass "exports-only-listed"
else
	st_fail "exports-only-listed" "exported but not in the map: $(echo "$extra" | tr '\n' ' ')"
fi

# case: every listed symbol is actually defined
missing=$(grep -v '\*' "$T/listed" | comm -13 "$T/exported" -)
if [ -z "$missing" ]; then
	st_pass "listed-all-defined"
else
	st_fail "listed-all-defined" "in the map but not exported: $(echo "$missing" | tr '\n' ' ')"
fi

# case: no internal names leak
leak=$(grep -E '^(ff_|ffd_|log_|st_|__asan|__ubsan)' "$T/exported" || true)
if [ -z "$leak" ]; then
	st_pass "no-internal-names"
else
	st_fail "no-internal-names" "$(echo "$leak" | tr '\n' ' ')"
fi

# case: the public API of faasflow.h is there, and nothing else under faasflow_
api=$(grep -o 'faasflow_[a-z_]*(' "$ST_SRCDIR/../../preload/faasflow.h" | tr -d '(' | sort -u)
have=$(grep '^faasflow_' "$T/exported")
if [ -n "$api" ] && [ "$api" = "$have" ]; then
	st_pass "public-api"
else
	st_fail "public-api" "faasflow.h declares [$(tr '\n' ' ' <<<"$api")] but the shim exports [$(tr '\n' ' ' <<<"$have")]"
fi

# case: the symbols the design requires are interposed (a map that shrank would pass above)
for s in read readv recv recvfrom recvmsg recvmmsg __read_chk __recv_chk __recvfrom_chk write \
	writev send sendto sendmsg sendmmsg sendfile splice ioctl connect accept accept4 listen \
	close close_range shutdown dup dup2 dup3 fcntl fork vfork execve posix_spawn; do
	grep -qx "$s" "$T/exported" || missing_req="${missing_req:-} $s"
done
if [ -z "${missing_req:-}" ]; then
	st_pass "required-entry-points"
else
	st_fail "required-entry-points" "not exported:$missing_req"
fi
st_done
