#!/bin/bash
# Compatibility matrix: PostgreSQL (Debian's postgresql), the server speaking first. initdb
# into the row's temp dir as the postgres user (trust auth), postgres listening on a high port
# on 127.0.0.1; psql loads a text table of 1 KiB to 64 MiB with COPY ... FROM STDIN, the server
# hashes the table itself (sha256 of string_agg in SQL), and psql copies it back out with
# COPY ... TO STDOUT.
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"
PGBIN=
for d in /usr/lib/postgresql/*/bin; do
	[ -x "$d/postgres" ] && PGBIN=$d # the last major version the glob lists
done
cx_need postgresql "${PGBIN:-/usr/lib/postgresql/N/bin}/postgres" "${PGBIN:-/usr/lib/postgresql/N/bin}/initdb"
cx_need postgresql-client psql
cx_need util-linux setpriv
cx_need iproute2 ss
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: the row runs the server as the postgres user (needs root to switch)"
	exit 77
fi
# In a sanitizer build the ASan runtime is preloaded before the shim; postgres deadlocks at
# start with that runtime preloaded alone (gdb: set_pglocale_pgservice -> bindtextdomain ->
# pthread_rwlock_wrlock(_nl_state_lock), no shim involved). The row runs in builds without
# sanitizers (make distcheck's, for one).
if [ -n "$CX_ASAN" ]; then
	echo "SKIP: postgres hangs at start with the bare ASan runtime preloaded (no shim needed); this row runs in a build without sanitizers"
	exit 77
fi
PGUSER_OS=postgres
if ! id "$PGUSER_OS" >/dev/null 2>&1; then
	useradd --system --no-create-home --shell /usr/sbin/nologin "$PGUSER_OS" || exit 99
fi
cx_version "$("$PGBIN/postgres" --version), $(psql --version)"
CX_SIZES="1K 64K 1M 16M 64M"
# libpq and the backend send through 8 KiB buffers (COPY: one small message per row), so no
# write reaches THRESHOLD: the connection must be upgraded and carry the bytes inline.
CX_ACCEL="inline libpq and the backend write at most 8 KiB at once"
CX_START_TIMEOUT=${CX_START_TIMEOUT_PG:-30}
CX_ALLOW_UIDS="root,$PGUSER_OS"
AS_PG=(setpriv --reuid="$PGUSER_OS" --regid="$(id -g "$PGUSER_OS")" --init-groups)

mkdir -p "$T/pg"
chown "$PGUSER_OS" "$T/pg"
if ! "${AS_PG[@]}" "$PGBIN/initdb" -D "$T/pg/data" --auth=trust -U postgres -E UTF8 --locale=C.UTF-8 \
	>"$T/initdb.log" 2>&1; then
	echo "initdb failed:"
	tail -20 "$T/initdb.log"
	exit 99
fi

# text payloads: base64 lines (valid COPY text format)
pg_payload() {
	local f=$T/table.$1
	[ -f "$f" ] || head -c $(($(cx_bytes "$1") * 3 / 4)) /dev/urandom | base64 -w 127 >"$f"
	echo "$f"
}

row() {
	local mode=$1 port srv size f want got_srv got psql
	port=$(cx_port)
	cx_bg srv "$mode" "${AS_PG[@]}" "$PGBIN/postgres" -D "$T/pg/data" -p "$port" -k "$T/pg" \
		-c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=32MB -c max_connections=20
	srv=$CX_LAST
	if ! cx_wait_port "$port" "" "$srv"; then
		cx_fail "postgres starts ($mode)" "did not listen"
		cx_show srv
		cx_result "$mode" all "server-did-not-start"
		cx_stop "$srv"
		return
	fi
	psql=(psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres)
	for size in $CX_SIZES; do
		f=$(pg_payload "$size")
		want=$(cx_sha "$f")
		if ! cx_run "$mode" "${psql[@]}" -c "DROP TABLE IF EXISTS t; CREATE TABLE t (id bigserial PRIMARY KEY, line text)" \
			>/dev/null 2>"$T/cli.err" ||
			! cx_run "$mode" "${psql[@]}" -c "COPY t (line) FROM STDIN" <"$f" 2>"$T/cli.err"; then
			cx_fail "COPY in $size ($mode)" "psql exited $CX_RC$([ "$CX_RC" = 124 ] && echo " (timed out after $CX_CLIENT_TIMEOUT s)"): $(head -c 300 "$T/cli.err")"
			cx_result "$mode" "$size" "copy-in-failed-$CX_RC"
			cx_show srv
			[ "$CX_RC" = 124 ] && break
			continue
		fi
		got_srv=$(cx_run "$mode" "${psql[@]}" -c "SELECT encode(sha256(convert_to(string_agg(line || E'\n', '' ORDER BY id), 'UTF8')), 'hex') FROM t" 2>>"$T/cli.err")
		if ! cx_run "$mode" "${psql[@]}" -c "COPY (SELECT line FROM t ORDER BY id) TO STDOUT" >"$T/got" 2>"$T/cli.err"; then
			cx_fail "COPY out $size ($mode)" "psql exited $CX_RC$([ "$CX_RC" = 124 ] && echo " (timed out after $CX_CLIENT_TIMEOUT s)"): $(head -c 300 "$T/cli.err")"
			cx_result "$mode" "$size" "copy-out-failed-$CX_RC"
			cx_show srv
			[ "$CX_RC" = 124 ] && break
			continue
		fi
		got=$(cx_sha "$T/got")
		cx_check_case "$mode" "$size" "COPY in (server hash) + COPY out" "$want" "$got_srv" "$got"
	done
	cx_stop "$srv"
}

cx_start_daemon
cx_matrix
cx_done
