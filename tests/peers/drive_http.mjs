// Drives an MCP server over Streamable HTTP with the reference SDK client, as two identities,
// through whatever URL it is given (mcptrail tap-http in the tests).
//
//   node drive_http.mjs URL TOKEN_ALICE TOKEN_AGENT
//
// Prints one JSON object on stdout describing what it did; diagnostics go to stderr.
import process from 'node:process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTaskStore } from '@modelcontextprotocol/sdk/experimental/tasks';

const [url, tokenAlice, tokenAgent] = process.argv.slice(2);
const T0 = Date.now();
const log = (...a) => process.stderr.write(`[drive_http +${Date.now() - T0}ms] ${a.join(' ')}\n`);
const out = { ok: false, steps: {} };
const watchdog = setTimeout(() => {
  out.error = 'global timeout';
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(1);
}, 40_000);

async function connect(name, token) {
  const client = new Client(
    { name, version: '1.0.0' },
    { capabilities: { tasks: { list: {}, cancel: {} } }, taskStore: new InMemoryTaskStore() },
  );
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return { client, transport };
}

const firstText = (r) => (r?.content ?? []).find((c) => c.type === 'text')?.text ?? '';

try {
  // identity 1: alice, through her own client
  const a = await connect('alice-desktop', tokenAlice);
  out.session_alice = a.transport.sessionId;
  await a.client.listTools();
  const echo = await a.client.callTool({ name: 'echo', arguments: { message: 'hello over http' } });
  out.steps.echo = firstText(echo);
  await a.client.callTool({ name: 'get-sum', arguments: { a: 20, b: 22 } });

  // streaming: progress notifications must reach the client while the call is still running
  const progressAt = [];
  const started = Date.now();
  await a.client.callTool(
    { name: 'trigger-long-running-operation', arguments: { duration: 2, steps: 4 } },
    undefined,
    { onprogress: () => progressAt.push(Date.now() - started), timeout: 15_000 },
  );
  out.steps.long_running = { progress_ms: progressAt, result_ms: Date.now() - started };

  // a task that completes, over HTTP
  let taskId = null;
  let last = null;
  for await (const m of a.client.experimental.tasks.callToolStream(
    { name: 'simulate-research-query', arguments: { topic: 'http audit' } },
    undefined,
    { timeout: 15_000 },
  )) {
    if (m.type === 'taskCreated' || m.type === 'taskStatus') {
      taskId = taskId ?? m.task.taskId;
      last = m.task.status;
    }
  }
  out.steps.task = { taskId, status: last };

  // the same JSON-RPC request posted twice (a client retry): one logical call, two attempts
  const headers = {
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    Authorization: `Bearer ${tokenAlice}`,
    'mcp-session-id': a.transport.sessionId,
    'mcp-protocol-version': '2025-11-25',
  };
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 'retry-1',
    method: 'tools/call',
    params: { name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 2 } },
  });
  // each stream is read until its JSON-RPC answer arrives or 4 s pass: a server may answer a
  // duplicate id only once
  const post = async () => {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 4000);
    let text = '';
    try {
      const r = await fetch(url, { method: 'POST', headers, body, signal: ac.signal });
      const reader = r.body.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString();
        if (text.includes('"id":"retry-1"')) break;
      }
      reader.cancel().catch(() => {});
    } catch (e) {
      if (e.name !== 'AbortError') throw e;
    } finally {
      clearTimeout(timer);
    }
    return text;
  };
  const [r1, r2] = await Promise.all([post(), new Promise((res) => setTimeout(res, 150)).then(post)]);
  out.steps.duplicate = { first_bytes: r1.length, second_bytes: r2.length };
  await a.client.close();

  // identity 2: an agent acting for alice, identified by a client metadata document URL
  const b = await connect('release-agent', tokenAgent);
  out.session_agent = b.transport.sessionId;
  await b.client.callTool({ name: 'echo', arguments: { message: 'from the agent' } });
  await b.client.callTool({ name: 'no-such-tool', arguments: {} });
  await b.transport.terminateSession();
  await b.client.close();
  out.ok = true;
} catch (e) {
  out.error = String(e?.stack ?? e);
  log(out.error);
}
clearTimeout(watchdog);
process.stdout.write(JSON.stringify(out) + '\n');
process.exit(out.ok ? 0 : 1);
