// Latency and throughput that tap-http adds: the same MCP ping requests sent directly to
// server-everything and through the tap, interleaved, in one run.
//   node http_latency.mjs DIRECT_URL TAP_URL [REQUESTS] [CONCURRENCY] [SECONDS]
const [direct, tapped, nReq = '2000', conc = '16', secs = '5'] = process.argv.slice(2);
const headers = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };

async function session(url) {
  const r = await fetch(url, {
    method: 'POST', headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } }),
  });
  await r.text();
  const sid = r.headers.get('mcp-session-id');
  await (await fetch(url, { method: 'POST', headers: { ...headers, 'mcp-session-id': sid }, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).text();
  return sid;
}
let id = 1;
async function ping(url, sid) {
  const t = process.hrtime.bigint();
  const r = await fetch(url, { method: 'POST', headers: { ...headers, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' }, body: JSON.stringify({ jsonrpc: '2.0', id: id++, method: 'ping' }) });
  const body = await r.text();
  if (!body.includes('"result"')) throw new Error(`bad answer ${r.status}: ${body.slice(0, 200)}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}
const pct = (a, p) => a[Math.min(a.length - 1, Math.floor((a.length * p) / 100))];

const sd = await session(direct), st = await session(tapped);
for (let i = 0; i < 200; i++) { await ping(direct, sd); await ping(tapped, st); } // warm up
const lat = { direct: [], tap: [] };
for (let i = 0; i < Number(nReq); i++) {
  lat.direct.push(await ping(direct, sd));
  lat.tap.push(await ping(tapped, st));
}
const out = {};
for (const k of ['direct', 'tap']) {
  const a = lat[k].sort((x, y) => x - y);
  out[k] = { p50_ms: pct(a, 50), p99_ms: pct(a, 99), mean_ms: a.reduce((s, x) => s + x, 0) / a.length };
}
async function throughput(url, sid) {
  const end = Date.now() + Number(secs) * 1000;
  let done = 0;
  await Promise.all(Array.from({ length: Number(conc) }, async () => {
    while (Date.now() < end) { await ping(url, sid); done++; }
  }));
  return done / Number(secs);
}
out.direct.req_per_s = await throughput(direct, sd);
out.tap.req_per_s = await throughput(tapped, st);
out.added_p50_ms = out.tap.p50_ms - out.direct.p50_ms;
out.added_p99_ms = out.tap.p99_ms - out.direct.p99_ms;
out.throughput_ratio = out.tap.req_per_s / out.direct.req_per_s;
console.log(JSON.stringify(out, null, 2));
