#!/usr/bin/env node
// drive_stdio.mjs — drive a stdio MCP server with the real TypeScript SDK client.
//
// Usage:
//   node drive_stdio.mjs -- <server command> [args...]
//   e.g. node drive_stdio.mjs -- node node_modules/@modelcontextprotocol/server-everything/dist/index.js stdio
//        node drive_stdio.mjs -- mcptrail tap --out rec.jsonl -- node .../index.js stdio
//
// The argv after `--` is spawned exactly as given (no shell), with the server's
// stderr inherited. Exactly one JSON object is printed on stdout at the end;
// diagnostics go to stderr. Exit status 0 when every required step succeeded,
// 1 otherwise.
//
// Steps, in order: initialize; tools/list, resources/list, prompts/list;
// tools/call echo, get-sum, no-such-tool, trigger-long-running-operation (with
// progress); resources/read, prompts/get; server->client sampling, elicitation
// (form and url) and roots via the trigger-* / get-roots-list tools; a task-
// augmented tools/call run to completion, a second one cancelled via
// tasks/cancel, tasks/list; close.

import process from 'node:process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  McpError,
  TaskStatusNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { InMemoryTaskStore } from '@modelcontextprotocol/sdk/experimental/tasks';

const T0 = Date.now();
const GLOBAL_TIMEOUT_MS = 28_000;
const STEP_TIMEOUT_MS = 8_000;

const log = (...a) => process.stderr.write(`[drive_stdio +${Date.now() - T0}ms] ${a.join(' ')}\n`);

let finished = false;
function finish(obj, code) {
  if (finished) return;
  finished = true;
  process.stdout.write(JSON.stringify(obj) + '\n', () => process.exit(code));
}

// ---------------------------------------------------------------- argv ----
const sep = process.argv.indexOf('--');
const serverArgv = sep >= 0 ? process.argv.slice(sep + 1) : [];
if (serverArgv.length === 0) {
  log('usage: node drive_stdio.mjs -- <server command> [args...]');
  finish({ ok: false, error: 'no server command given after --' }, 1);
}

// -------------------------------------------------------------- state -----
const steps = [];
const serverRequests = { sampling: 0, elicitation: 0, elicitation_form: 0, elicitation_url: 0, roots: 0 };
const wire = {
  sent: {},               // method -> count (client -> server requests/notifications)
  received: {},           // method -> count (server -> client requests/notifications)
  task_params_sent: [],   // params.task of each task-augmented request the SDK sent
  progress_tokens_sent: [],
  progress_received: {},  // progressToken -> notifications/progress seen on the wire
  protocol_version: null,
};
const taskStatusNotifications = []; // {taskId, status} from notifications/tasks/status
let progress = 0;            // notifications/progress on the wire for the long-running call's token
let progressCallbacks = 0;   // times the SDK actually invoked our onprogress callback
let unknownTool = null;
const tasks = {};
let child = null;
let childExit = null;
let childExitPromise = null;

function bump(map, k) { map[k] = (map[k] || 0) + 1; }

function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`timeout after ${ms}ms: ${what}`)), ms); });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

function errInfo(e) {
  if (e instanceof McpError || (e && typeof e.code === 'number')) {
    return { message: e.message, code: e.code, ...(e.data !== undefined ? { data: e.data } : {}) };
  }
  return { message: e && e.message ? e.message : String(e) };
}

/**
 * Run one step. fn returns a detail object (or undefined). Throwing marks the
 * step as an error; steps are required unless opts.optional.
 */
async function step(name, fn, opts = {}) {
  const started = Date.now();
  const timeoutMs = opts.timeoutMs ?? STEP_TIMEOUT_MS;
  const rec = { step: name };
  try {
    const detail = await withTimeout(Promise.resolve().then(fn), timeoutMs, name);
    rec.outcome = 'ok';
    if (detail !== undefined) Object.assign(rec, detail);
  } catch (e) {
    rec.outcome = 'error';
    rec.error = errInfo(e);
    if (opts.optional) rec.optional = true;
    log(`step ${name} FAILED: ${rec.error.message}`);
  }
  rec.ms = Date.now() - started;
  steps.push(rec);
  log(`step ${name}: ${rec.outcome} (${rec.ms}ms)`);
  return rec;
}

function skip(name, reason) {
  steps.push({ step: name, outcome: 'skipped', reason });
  log(`step ${name}: skipped (${reason})`);
}

function firstText(result) {
  const c = (result && result.content) || [];
  const t = c.find((x) => x && x.type === 'text');
  return t ? t.text : '';
}

// Sample a value satisfying a (simple) JSON Schema property.
function sampleFor(prop, key) {
  if (!prop || typeof prop !== 'object') return 'x';
  if (Object.prototype.hasOwnProperty.call(prop, 'default')) return prop.default;
  if (Object.prototype.hasOwnProperty.call(prop, 'const')) return prop.const;
  if (Array.isArray(prop.enum) && prop.enum.length) return prop.enum[0];
  if (Array.isArray(prop.oneOf) && prop.oneOf.length && prop.oneOf[0].const !== undefined) return prop.oneOf[0].const;
  if (Array.isArray(prop.anyOf) && prop.anyOf.length && prop.anyOf[0].const !== undefined) return prop.anyOf[0].const;
  switch (prop.type) {
    case 'boolean': return true;
    case 'integer': return Math.ceil(prop.minimum ?? 1);
    case 'number': return prop.minimum ?? 1;
    case 'array': {
      const it = prop.items || {};
      let v;
      if (Array.isArray(it.enum) && it.enum.length) v = it.enum[0];
      else if (Array.isArray(it.anyOf) && it.anyOf.length && it.anyOf[0].const !== undefined) v = it.anyOf[0].const;
      else if (Array.isArray(it.oneOf) && it.oneOf.length && it.oneOf[0].const !== undefined) v = it.oneOf[0].const;
      else v = sampleFor(it, key);
      return [v];
    }
    case 'object': return {};
    case 'string':
    default:
      switch (prop.format) {
        case 'email': return 'mcptrail-it@example.com';
        case 'uri': case 'url': return 'https://example.com/mcptrail-it';
        case 'date': return '2000-01-01';
        case 'date-time': return '2000-01-01T00:00:00Z';
        default: return key === 'name' ? 'mcptrail-it' : `mcptrail-it ${key}`;
      }
  }
}

// Build tool arguments from preferred values, constrained by the advertised inputSchema.
function argsFor(tool, preferred) {
  const schema = (tool && tool.inputSchema) || {};
  const props = schema.properties || {};
  const args = {};
  for (const [k, v] of Object.entries(preferred)) {
    if (!schema.properties || k in props) args[k] = v;
    else log(`tool ${tool.name}: dropping argument ${k} (not in inputSchema)`);
  }
  for (const req of schema.required || []) {
    if (!(req in args)) args[req] = sampleFor(props[req], req);
  }
  return args;
}

// --------------------------------------------------------------- main -----
async function main() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;

  const transport = new StdioClientTransport({
    command: serverArgv[0],
    args: serverArgv.slice(1),
    env,
    stderr: 'inherit',
  });

  // Client-side task store: lets us honestly declare the client `tasks`
  // capability (tasks/get, tasks/result, tasks/list, tasks/cancel handlers are
  // installed by the SDK) and answer task-augmented sampling/elicitation.
  const clientTaskStore = new InMemoryTaskStore();

  const client = new Client(
    { name: 'mcptrail-it', version: '1.0.0' },
    {
      capabilities: {
        roots: { listChanged: true },
        sampling: { tools: {} },
        elicitation: { form: {}, url: {} },
        tasks: {
          list: {},
          cancel: {},
          requests: { sampling: { createMessage: {} }, elicitation: { create: {} } },
        },
      },
      taskStore: clientTaskStore,
    },
  );
  client.onerror = (e) => log(`client error: ${e && e.message ? e.message : e}`);

  // Answer a server->client request either directly or, if the server asked for
  // task augmentation, as a client-side task completed shortly afterwards.
  async function maybeAsTask(request, extra, result) {
    if (!request.params || !request.params.task) return result;
    const task = await extra.taskStore.createTask({ ttl: request.params.task.ttl ?? 60_000 });
    setTimeout(() => {
      extra.taskStore.storeTaskResult(task.taskId, 'completed', result).catch((e) => log(`storeTaskResult: ${e.message}`));
    }, 100).unref();
    return { task };
  }

  client.setRequestHandler(CreateMessageRequestSchema, async (request, extra) => {
    serverRequests.sampling++;
    const msgs = request.params.messages || [];
    const last = msgs.length ? msgs[msgs.length - 1] : null;
    const prompt = last && last.content && last.content.type === 'text' ? last.content.text : '';
    log(`server request sampling/createMessage (task=${JSON.stringify(request.params.task ?? null)})`);
    return maybeAsTask(request, extra, {
      role: 'assistant',
      content: { type: 'text', text: `mcptrail-it sampled reply to: ${prompt}`.slice(0, 200) },
      model: 'test-model',
      stopReason: 'endTurn',
    });
  });

  client.setRequestHandler(ElicitRequestSchema, async (request, extra) => {
    serverRequests.elicitation++;
    const mode = request.params.mode ?? 'form';
    log(`server request elicitation/create mode=${mode}`);
    if (mode === 'url') {
      serverRequests.elicitation_url++;
      return maybeAsTask(request, extra, { action: 'accept' });
    }
    serverRequests.elicitation_form++;
    const schema = request.params.requestedSchema || {};
    const content = {};
    for (const [k, p] of Object.entries(schema.properties || {})) content[k] = sampleFor(p, k);
    return maybeAsTask(request, extra, { action: 'accept', content });
  });

  client.setRequestHandler(ListRootsRequestSchema, async () => {
    serverRequests.roots++;
    log('server request roots/list');
    return { roots: [{ uri: 'file:///tmp/mcptrail-it', name: 'mcptrail-it' }] };
  });

  client.setNotificationHandler(TaskStatusNotificationSchema, (n) => {
    taskStatusNotifications.push({ taskId: n.params.taskId, status: n.params.status });
  });

  // Observe the wire (without altering it) so we can report what the SDK sends.
  const origSend = transport.send.bind(transport);
  transport.send = (msg, opts) => {
    if (msg && msg.method) {
      bump(wire.sent, msg.method);
      if (msg.params && msg.params.task !== undefined && 'id' in msg) {
        wire.task_params_sent.push({ method: msg.method, name: msg.params.name, task: msg.params.task });
      }
      if (msg.params && msg.params._meta && msg.params._meta.progressToken !== undefined) {
        wire.progress_tokens_sent.push({ method: msg.method, name: msg.params.name, progressToken: msg.params._meta.progressToken });
      }
    }
    return origSend(msg, opts);
  };

  // Protocol.connect() chains a pre-existing transport.onmessage before its own
  // dispatch, so this observer sees every incoming message first.
  transport.onmessage = (msg) => {
    if (!msg || typeof msg !== 'object') return;
    if (msg.method) {
      bump(wire.received, msg.method);
      if (msg.method === 'notifications/progress' && msg.params) {
        const tok = String(msg.params.progressToken);
        wire.progress_received[tok] = (wire.progress_received[tok] || 0) + 1;
      }
    } else if (msg.result && typeof msg.result.protocolVersion === 'string' && wire.protocol_version === null) {
      wire.protocol_version = msg.result.protocolVersion;
    }
  };

  // ---- 1. initialize
  const init = await step('initialize', async () => {
    await client.connect(transport, { timeout: STEP_TIMEOUT_MS });
    child = transport._process || null;
    if (child) {
      childExitPromise = new Promise((resolve) => {
        child.once('exit', (code, signal) => { childExit = { code, signal, at_ms: Date.now() - T0 }; resolve(); });
      });
    }
    const sv = client.getServerVersion();
    const caps = client.getServerCapabilities() || {};
    return { server: sv ? { name: sv.name, version: sv.version } : null, server_capabilities: Object.keys(caps) };
  });
  if (init.outcome !== 'ok') throw new Error(`initialize failed: ${init.error.message}`);

  // ---- 2. lists
  let tools = [];
  let resources = [];
  let prompts = [];
  await step('tools/list', async () => {
    const r = await client.listTools(undefined, { timeout: STEP_TIMEOUT_MS });
    tools = r.tools;
    return { count: tools.length, names: tools.map((t) => t.name) };
  });
  await step('resources/list', async () => {
    const r = await client.listResources(undefined, { timeout: STEP_TIMEOUT_MS });
    resources = r.resources;
    return { count: resources.length };
  });
  await step('prompts/list', async () => {
    const r = await client.listPrompts(undefined, { timeout: STEP_TIMEOUT_MS });
    prompts = r.prompts;
    return { count: prompts.length, names: prompts.map((p) => p.name) };
  });
  const toolByName = new Map(tools.map((t) => [t.name, t]));

  // ---- 3. tool calls
  await step('echo', async () => {
    const r = await client.callTool({ name: 'echo', arguments: { message: 'hello' } }, undefined, { timeout: STEP_TIMEOUT_MS });
    if (r.isError) throw new Error(`echo returned isError: ${firstText(r)}`);
    if (!firstText(r).includes('hello')) throw new Error(`unexpected echo result: ${firstText(r)}`);
    return { text: firstText(r) };
  });
  await step('get-sum', async () => {
    const r = await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } }, undefined, { timeout: STEP_TIMEOUT_MS });
    if (r.isError) throw new Error(`get-sum returned isError: ${firstText(r)}`);
    if (!/\b5\b/.test(firstText(r))) throw new Error(`unexpected get-sum result: ${firstText(r)}`);
    return { text: firstText(r) };
  });
  await step('no-such-tool', async () => {
    try {
      const r = await client.callTool({ name: 'no-such-tool', arguments: {} }, undefined, { timeout: STEP_TIMEOUT_MS });
      if (r.isError) {
        unknownTool = 'tool_error';
        return { came_back_as: 'tool_error', text: firstText(r) };
      }
      throw new Error(`no-such-tool unexpectedly succeeded: ${JSON.stringify(r).slice(0, 200)}`);
    } catch (e) {
      if (e instanceof McpError && !/unexpectedly succeeded/.test(e.message)) {
        unknownTool = 'rpc_error';
        return { came_back_as: 'rpc_error', code: e.code, message: e.message };
      }
      throw e;
    }
  });
  await step('trigger-long-running-operation', async () => {
    const r = await client.callTool(
      { name: 'trigger-long-running-operation', arguments: { duration: 2, steps: 4 } },
      undefined,
      {
        timeout: 10_000,
        onprogress: (p) => { progressCallbacks++; log(`progress ${p.progress}/${p.total ?? '?'}`); },
      },
    );
    if (r.isError) throw new Error(`isError: ${firstText(r)}`);
    const sent = wire.progress_tokens_sent.find((x) => x.name === 'trigger-long-running-operation');
    // Give a notification that raced the response a moment to be dispatched.
    await new Promise((res) => setTimeout(res, 50));
    progress = sent ? (wire.progress_received[String(sent.progressToken)] || 0) : 0;
    if (progress < 1 || progressCallbacks < 1) throw new Error('no progress notifications received');
    return { progressToken: sent ? sent.progressToken : null, progress_notifications: progress, progress_callbacks: progressCallbacks, text: firstText(r) };
  }, { timeoutMs: 12_000 });

  // ---- 4. resources/read, prompts/get
  if (resources.length) {
    await step('resources/read', async () => {
      const uri = resources[0].uri;
      const r = await client.readResource({ uri }, { timeout: STEP_TIMEOUT_MS });
      if (!r.contents || !r.contents.length) throw new Error(`no contents for ${uri}`);
      return { uri, contents: r.contents.length, mimeType: r.contents[0].mimeType ?? null };
    });
  } else {
    await step('resources/read', async () => { throw new Error('resources/list returned no resources'); });
  }
  {
    const noArg = prompts.find((p) => p.name === 'simple-prompt')
      || prompts.find((p) => !(p.arguments || []).some((a) => a.required));
    await step('prompts/get', async () => {
      if (!noArg) throw new Error('no prompt without required arguments');
      const r = await client.getPrompt({ name: noArg.name }, { timeout: STEP_TIMEOUT_MS });
      if (!r.messages || !r.messages.length) throw new Error('prompt returned no messages');
      return { name: noArg.name, messages: r.messages.length };
    });
  }

  // ---- 5. server-initiated requests
  const triggerCalls = [
    ['trigger-sampling-request', { prompt: 'Say hello to the audit trail', maxTokens: 32 },
      (r) => { if (serverRequests.sampling < 1) throw new Error('no sampling/createMessage received'); if (!firstText(r).includes('test-model')) throw new Error(`sampling result not echoed: ${firstText(r).slice(0, 200)}`); }],
    ['trigger-elicitation-request', {},
      (r) => { if (serverRequests.elicitation_form < 1) throw new Error('no form elicitation/create received'); if (!firstText(r).includes('provided')) throw new Error(`elicitation not accepted: ${firstText(r).slice(0, 200)}`); }],
    ['get-roots-list', {},
      (r) => { if (serverRequests.roots < 1) throw new Error('no roots/list received'); if (!r.content.some((c) => c.type === 'text' && c.text.includes('file:///tmp/mcptrail-it'))) throw new Error(`root not reported: ${firstText(r).slice(0, 200)}`); }],
    ['trigger-url-elicitation', { url: 'https://example.com/mcptrail-it', message: 'mcptrail-it url elicitation' },
      (r) => { if (serverRequests.elicitation_url < 1) throw new Error('no url elicitation/create received'); if (!firstText(r).includes('completed')) throw new Error(`url elicitation not accepted: ${firstText(r).slice(0, 200)}`); }],
  ];
  for (const [name, preferred, check] of triggerCalls) {
    const tool = toolByName.get(name);
    if (!tool) { skip(name, 'tool not listed by server'); continue; }
    await step(name, async () => {
      const before = { ...serverRequests };
      const args = argsFor(tool, preferred);
      const r = await client.callTool({ name, arguments: args }, undefined, { timeout: STEP_TIMEOUT_MS });
      if (r.isError) throw new Error(`isError: ${firstText(r).slice(0, 300)}`);
      check(r);
      const delta = {};
      for (const k of Object.keys(serverRequests)) if (serverRequests[k] !== before[k]) delta[k] = serverRequests[k] - before[k];
      return { arguments: args, server_requests_during_call: delta };
    });
  }

  // ---- 6. tasks
  const researchTool = toolByName.get('simulate-research-query');
  if (!researchTool) {
    await step('task-completed', async () => { throw new Error('simulate-research-query not listed'); });
    await step('task-cancelled', async () => { throw new Error('simulate-research-query not listed'); });
  } else {
    const researchArgs = argsFor(researchTool, { topic: 'audit trails' });

    await step('task-completed', async () => {
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(new Error('task-completed timeout')), 12_000);
      const rec = { taskId: null, statuses: [], messages: [], result_text: null, error: null };
      tasks.completed = rec;
      try {
        const stream = client.experimental.tasks.callToolStream(
          { name: 'simulate-research-query', arguments: researchArgs },
          undefined,
          { timeout: STEP_TIMEOUT_MS, signal: ac.signal },
        );
        for await (const m of stream) {
          rec.messages.push(m.type);
          if (m.type === 'taskCreated' || m.type === 'taskStatus') {
            rec.taskId = rec.taskId ?? m.task.taskId;
            if (rec.statuses[rec.statuses.length - 1] !== m.task.status) rec.statuses.push(m.task.status);
            log(`task ${m.task.taskId} ${m.type}: ${m.task.status}${m.task.statusMessage ? ` (${m.task.statusMessage})` : ''}`);
          } else if (m.type === 'result') {
            rec.result_text = firstText(m.result).split('\n')[0];
            rec.result_is_error = !!m.result.isError;
          } else if (m.type === 'error') {
            rec.error = errInfo(m.error);
          }
        }
      } finally {
        clearTimeout(timer);
      }
      rec.polls = rec.messages.filter((t) => t === 'taskStatus').length;
      rec.status_notifications = taskStatusNotifications.filter((n) => n.taskId === rec.taskId).map((n) => n.status);
      if (rec.error) throw new Error(`stream ended with error: ${rec.error.message}`);
      if (!rec.taskId) throw new Error('no taskId');
      if (rec.statuses[rec.statuses.length - 1] !== 'completed') throw new Error(`last status ${rec.statuses[rec.statuses.length - 1]}`);
      if (rec.result_text === null) throw new Error('no result');
      return { taskId: rec.taskId, statuses: rec.statuses };
    }, { timeoutMs: 14_000 });

    await step('task-cancelled', async () => {
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(new Error('task-cancelled timeout')), 8_000);
      const rec = { taskId: null, status: null, statuses: [], messages: [], cancel_response: null, stream_error: null };
      tasks.cancelled = rec;
      try {
        const stream = client.experimental.tasks.callToolStream(
          { name: 'simulate-research-query', arguments: researchArgs },
          undefined,
          { timeout: STEP_TIMEOUT_MS, signal: ac.signal },
        );
        for await (const m of stream) {
          rec.messages.push(m.type);
          if (m.type === 'taskCreated' || m.type === 'taskStatus') {
            if (rec.statuses[rec.statuses.length - 1] !== m.task.status) rec.statuses.push(m.task.status);
            log(`task ${m.task.taskId} ${m.type}: ${m.task.status}`);
          }
          if (m.type === 'taskCreated' && !rec.taskId) {
            rec.taskId = m.task.taskId;
            try {
              const c = await client.experimental.tasks.cancelTask(rec.taskId, { timeout: STEP_TIMEOUT_MS });
              rec.cancel_response = c;
              rec.status = c.status;
              log(`tasks/cancel -> ${JSON.stringify(c)}`);
            } catch (e) {
              rec.cancel_error = errInfo(e);
              log(`tasks/cancel failed: ${rec.cancel_error.message}`);
            }
          } else if (m.type === 'error') {
            rec.stream_error = errInfo(m.error);
          } else if (m.type === 'result') {
            rec.unexpected_result = firstText(m.result).split('\n')[0];
          }
        }
      } catch (e) {
        rec.stream_error = errInfo(e);
      } finally {
        clearTimeout(timer);
      }
      if (rec.taskId) {
        try {
          const t = await client.experimental.tasks.getTask(rec.taskId, { timeout: STEP_TIMEOUT_MS });
          rec.status_after = t.status;
        } catch (e) {
          rec.status_after_error = errInfo(e);
        }
      }
      rec.status_notifications = taskStatusNotifications.filter((n) => n.taskId === rec.taskId).map((n) => n.status);
      if (!rec.taskId) throw new Error('no taskId');
      if (rec.cancel_error) throw new Error(`tasks/cancel failed: ${rec.cancel_error.message}`);
      if (rec.status !== 'cancelled') throw new Error(`cancel response status ${rec.status}`);
      return { taskId: rec.taskId, status: rec.status, status_after: rec.status_after ?? null };
    }, { timeoutMs: 10_000 });
  }

  if (typeof client.experimental.tasks.listTasks === 'function') {
    await step('tasks/list', async () => {
      const r = await client.experimental.tasks.listTasks(undefined, { timeout: STEP_TIMEOUT_MS });
      const list = (r.tasks || []).map((t) => ({ taskId: t.taskId, status: t.status }));
      tasks.list = list;
      return { count: list.length, tasks: list };
    });
  } else {
    skip('tasks/list', 'client.experimental.tasks.listTasks not available');
  }

  // ---- 7. close
  await step('close', async () => {
    const started = Date.now();
    await client.close();
    if (childExitPromise) await withTimeout(childExitPromise, 6_000, 'child exit');
    clientTaskStore.cleanup();
    if (!childExit) throw new Error('child exit not observed');
    return { child_exit: childExit, close_ms: Date.now() - started };
  }, { timeoutMs: 8_000 });
}

// --------------------------------------------------------------- run ------
const watchdog = setTimeout(() => {
  log(`global timeout after ${GLOBAL_TIMEOUT_MS}ms`);
  try { if (child && child.exitCode === null) child.kill('SIGKILL'); } catch { /* ignore */ }
  finish({ ok: false, error: `global timeout after ${GLOBAL_TIMEOUT_MS}ms`, steps }, 1);
}, GLOBAL_TIMEOUT_MS);

if (!finished) {
  main().then(
    () => {
      clearTimeout(watchdog);
      const failed = steps.filter((s) => s.outcome === 'error' && !s.optional);
      const summary = {
        ok: failed.length === 0,
        ...(failed.length ? { error: `failed steps: ${failed.map((s) => s.step).join(', ')}` } : {}),
        steps,
        tasks,
        progress,
        progress_callbacks: progressCallbacks,
        unknown_tool: unknownTool,
        server_requests: serverRequests,
        task_status_notifications: taskStatusNotifications.length,
        wire,
        child_exit: childExit,
        elapsed_ms: Date.now() - T0,
      };
      finish(summary, failed.length ? 1 : 0);
    },
    (e) => {
      clearTimeout(watchdog);
      log(`fatal: ${e && e.stack ? e.stack : e}`);
      try { if (child && child.exitCode === null) child.kill('SIGKILL'); } catch { /* ignore */ }
      finish({ ok: false, error: errInfo(e).message, steps }, 1);
    },
  );
}
