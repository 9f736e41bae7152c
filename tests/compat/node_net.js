// The compatibility matrix's echo protocol (lib.sh) in Node.js with the net module and
// explicit backpressure: the reader pauses the socket after every 4 MiB and resumes it a
// moment later; the writer writes 1 MiB chunks and waits for 'drain' whenever write()
// returns false.
// node_net.js server PORT | node_net.js client HOST PORT FILE
'use strict';
const net = require('net');
const fs = require('fs');
const crypto = require('crypto');
const CHUNK = 1 << 20;

function readAll(sock, done) {
	const parts = [];
	let n = 0, sincePause = 0;
	sock.on('data', (b) => {
		parts.push(b);
		n += b.length;
		sincePause += b.length;
		if (sincePause >= 4 * CHUNK) {
			sincePause = 0;
			sock.pause();
			setTimeout(() => sock.resume(), 2);
		}
	});
	sock.on('end', () => done(Buffer.concat(parts, n)));
}

function writeAll(sock, data, done) {
	let off = 0;
	function more() {
		while (off < data.length) {
			const c = data.subarray(off, Math.min(off + CHUNK, data.length));
			off += c.length;
			if (!sock.write(c)) {
				sock.once('drain', more);
				return;
			}
		}
		done();
	}
	more();
}

const line = (d) => `RECV bytes=${d.length} sha256=${crypto.createHash('sha256').update(d).digest('hex')}`;

if (process.argv[2] === 'server') {
	net.createServer({ allowHalfOpen: true }, (s) => {
		readAll(s, (d) => {
			console.log(line(d));
			writeAll(s, d, () => s.end());
		});
	}).listen(Number(process.argv[3]), '127.0.0.1');
} else {
	const data = fs.readFileSync(process.argv[5]);
	const s = net.connect({ host: process.argv[3], port: Number(process.argv[4]), allowHalfOpen: true }, () => {
		writeAll(s, data, () => s.end());
	});
	readAll(s, (d) => { console.log(line(d)); s.destroy(); });
	s.on('error', (e) => { console.error(e); process.exit(1); });
}
