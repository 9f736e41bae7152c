// The compatibility matrix's HTTP row in Node.js (http module, streams):
// node_http.js server PORT DIR  -- GET /NAME streams DIR/NAME (fs.createReadStream piped to
//                                  the response); POST hashes the request stream, prints and
//                                  answers "RECV bytes=N sha256=H"
// node_http.js client PORT FILE -- GET /basename(FILE) (hashing the response stream), then
//                                  POST FILE (piped from a read stream); prints
//                                  "RECV bytes=N sha256=H" of the download and
//                                  "UPLOADED ..." of the server's answer
'use strict';
const http = require('http');
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const HW = 1 << 20;

if (process.argv[2] === 'server') {
	const dir = process.argv[4];
	http.createServer((req, res) => {
		if (req.method === 'GET') {
			const f = path.join(dir, path.basename(req.url));
			let st;
			try { st = fs.statSync(f); } catch (e) { res.writeHead(404); res.end(); return; }
			res.writeHead(200, { 'Content-Length': st.size, 'Content-Type': 'application/octet-stream' });
			fs.createReadStream(f, { highWaterMark: HW }).pipe(res);
			return;
		}
		const h = crypto.createHash('sha256');
		let n = 0;
		req.on('data', (b) => { h.update(b); n += b.length; });
		req.on('end', () => {
			const line = `RECV bytes=${n} sha256=${h.digest('hex')}`;
			console.log(line);
			res.end(line + '\n');
		});
	}).listen(Number(process.argv[3]), '127.0.0.1');
} else {
	const port = Number(process.argv[3]);
	const file = process.argv[4];
	const agent = new http.Agent({ keepAlive: true });
	http.get({ host: '127.0.0.1', port, path: '/' + path.basename(file), agent }, (res) => {
		const h = crypto.createHash('sha256');
		let n = 0;
		res.on('data', (b) => { h.update(b); n += b.length; });
		res.on('end', () => {
			console.log(`RECV bytes=${n} sha256=${h.digest('hex')}`);
			const req = http.request({
				host: '127.0.0.1', port, path: '/upload', method: 'POST', agent,
				headers: { 'Content-Length': fs.statSync(file).size },
			}, (r2) => {
				let body = '';
				r2.setEncoding('utf8');
				r2.on('data', (d) => { body += d; });
				r2.on('end', () => {
					console.log(body.trim().replace(/^RECV/, 'UPLOADED'));
					agent.destroy();
				});
			});
			req.on('error', (e) => { console.error(e); process.exit(1); });
			fs.createReadStream(file, { highWaterMark: HW }).pipe(req);
		});
	}).on('error', (e) => { console.error(e); process.exit(1); });
}
