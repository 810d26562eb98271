// A tiny dev server with no dependencies, for preview tests: it listens on $PORT (127.0.0.1),
// answers pages, echoes the request headers it got at /headers, and echoes WebSocket messages
// at any path (the upgrade is done by hand: RFC 6455 handshake and frames).
const http = require('http');
const crypto = require('crypto');

const port = Number(process.env.PORT || 3000);
const page = (url) => `<!doctype html>
<html><head><title>Tiny app</title></head>
<body>
<h1 id="hello">Hello from the dev server</h1>
<p id="path">${url.replace(/[<>&"]/g, '')}</p>
<p id="echo">no echo yet</p>
<script>
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + location.pathname + 'ws';
  try {
    const ws = new WebSocket(url);
    ws.onopen = () => ws.send('echo:hi');
    ws.onmessage = (e) => { document.getElementById('echo').textContent = e.data; };
    ws.onerror = () => { document.getElementById('echo').textContent = 'websocket failed'; };
  } catch (e) { document.getElementById('echo').textContent = 'websocket failed'; }
</script>
</body></html>`;

const server = http.createServer((req, res) => {
  console.log(`${req.method} ${req.url}`);
  if (req.url.startsWith('/headers')) {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.headers));
    return;
  }
  if (req.url.startsWith('/boom')) {
    // The app's own error page, which a preview shows as it is.
    res.statusCode = 500;
    res.setHeader('content-type', 'text/plain');
    res.end('boom from the app');
    return;
  }
  if (req.method === 'POST') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => res.end('posted:' + Buffer.concat(chunks).toString()));
    return;
  }
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('set-cookie', ['app_cookie=1; Path=/', 'drydock_preview=forged; Path=/']);
  res.end(page(req.url));
});

function frame(opcode, data) {
  const len = data.length;
  const head = len < 126 ? Buffer.from([0x80 | opcode, len])
    : Buffer.from([0x80 | opcode, 126, len >> 8, len & 0xff]);
  return Buffer.concat([head, data]);
}

server.on('upgrade', (req, socket) => {
  const key = req.headers['sec-websocket-key'] || '';
  const accept = crypto.createHash('sha1')
    .update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
    + `Sec-WebSocket-Accept: ${accept}\r\n\r\n`);
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      if (buf.length < 2) return;
      const opcode = buf[0] & 0x0f;
      const masked = (buf[1] & 0x80) !== 0;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
      if (len === 127) { socket.destroy(); return; }
      const maskLen = masked ? 4 : 0;
      if (buf.length < off + maskLen + len) return;
      const mask = buf.subarray(off, off + maskLen);
      const data = Buffer.from(buf.subarray(off + maskLen, off + maskLen + len));
      if (masked) for (let i = 0; i < data.length; i++) data[i] ^= mask[i % 4];
      buf = buf.subarray(off + maskLen + len);
      if (opcode === 8) { socket.end(frame(8, Buffer.alloc(0))); return; }
      if (opcode === 1 || opcode === 2) socket.write(frame(opcode, data));
    }
  });
  socket.on('error', () => {});
});

server.listen(port, '127.0.0.1', () => console.log(`tiny app listening on ${port}`));
