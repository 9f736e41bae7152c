# The soak's verdict: pairs every client connection with the server's line for it and classifies.
# Input, one record a line (t-soak.sh feeds it):
#   C id client server want_bytes mode rc start end sent_bytes sent_sha256   a client connection
#   R server bytes sha256                                            a server's RECV line
#   K time kind index                                                a kill -9 (client|server|coordinator)
# Every connection of one client to one server has a distinct total size (client c sends totals
# with size % 4 == c, never the same one twice to one server) and each server has its own data
# seed, so (server, bytes) names at most one transfer; a truncated receipt whose length happens
# to equal another transfer's has the same hash (same seed, same prefix), so it can never cause a
# false mismatch. Output: "FAIL ..." lines, then one "TOTALS k=v ..." line.
# Variable: grace (seconds): a client error this close after a kill of its server is cut by it.

function kill_of(kind, idx, from, to,    i) {
	for (i = 1; i <= nk[kind, idx]; i++)
		if (kt[kind, idx, i] >= from && kt[kind, idx, i] <= to)
			return 1
	return 0
}

function coord_during(from, to,    i) {
	for (i = 1; i <= nk["coordinator", 0]; i++)
		if (kt["coordinator", 0, i] >= from && kt["coordinator", 0, i] <= to)
			return " (the coordinator was killed during this connection)"
	return ""
}

function fail(what, id, c, s, msg) {
	printf "FAIL %s: connection %s of client %d to server %d: %s\n", what, id, c, s, msg
}

$1 == "K" {
	idx = $3 == "coordinator" ? 0 : $4
	nk[$3, idx]++
	kt[$3, idx, nk[$3, idx]] = $2
	next
}

$1 == "R" {
	nr[$2, $3]++
	rh[$2, $3, nr[$2, $3]] = $4
	recv_lines++
	next
}

$1 == "C" {
	nc++
	cid[nc] = $2; cc[nc] = $3; cs[nc] = $4; cw[nc] = $5; cm[nc] = $6; crc[nc] = $7
	cst[nc] = $8; cen[nc] = $9; cb[nc] = $10; ch[nc] = $11
	next
}

END {
	for (i = 1; i <= nc; i++) {
		id = cc[i] "." cid[i]; c = cc[i]; s = cs[i]
		if (crc[i] == 137) {
			cut_client++
			continue
		}
		if (crc[i] == 3 || crc[i] == 124) {
			hangs++
			fail("hang", id, c, s, "xfer --timeout expired (mode " cm[i] ")" coord_during(cst[i], cen[i]))
			continue
		}
		if (crc[i] == 86 || crc[i] == 87) {
			sanitizer++
			fail("sanitizer", id, c, s, "client exited " crc[i] " (sanitizer report in its stderr)")
			continue
		}
		if (crc[i] > 128) {
			crashes++
			fail("crash", id, c, s, "client died of signal " (crc[i] - 128) " (only SIGKILL is sent)")
			continue
		}
		if (crc[i] != 0) {
			if (kill_of("server", s, cst[i], cen[i] + grace)) {
				cut_server++
				continue
			}
			errors++
			fail("error", id, c, s, "client exited " crc[i] " and neither end was killed (mode " \
			     cm[i] ")" coord_during(cst[i], cen[i]))
			continue
		}
		if (cb[i] != cw[i]) {
			errors++
			fail("error", id, c, s, "client exited 0 but reported " cb[i] " bytes sent, " cw[i] \
			     " planned")
			continue
		}
		n = nr[s, cw[i]]
		if (n == 0) {
			if (kill_of("server", s, cst[i], 1e18)) {
				cut_server++
				continue
			}
			lost++
			fail("lost", id, c, s, "the client sent " cw[i] " bytes and exited 0 but server " s \
			     " never reported them, and it was not killed (mode " cm[i] ")" \
			     coord_during(cst[i], cen[i]))
			continue
		}
		bad = 0
		for (j = 1; j <= n; j++)
			if (rh[s, cw[i], j] != ch[i])
				bad = j
		if (bad) {
			mismatches++
			fail("mismatch", id, c, s, cw[i] " bytes: client sha256 " ch[i] ", server sha256 " \
			     rh[s, cw[i], bad] " (mode " cm[i] ")")
			continue
		}
		completed++
		bytes += cw[i]
		if (cm[i] ~ /half-close/)
			completed_half++
	}
	printf "TOTALS connections=%d completed=%d completed_half_close=%d bytes=%.0f recv_lines=%d " \
	       "cut_client=%d cut_server=%d mismatches=%d lost=%d errors=%d hangs=%d sanitizer=%d " \
	       "crashes=%d\n",
	       nc, completed, completed_half, bytes, recv_lines, cut_client, cut_server, mismatches,
	       lost, errors, hangs, sanitizer, crashes
}
