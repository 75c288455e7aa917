// Feeds every entry of the secrets corpus to a real server as tool arguments, over stdio:
//   node drive_secrets.mjs CORPUS.json -- CMD [ARGS...]
import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const corpus = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const cmd = process.argv.slice(process.argv.indexOf('--') + 1);
const client = new Client({ name: 'secrets-feeder', version: '1.0.0' });
await client.connect(new StdioClientTransport({ command: cmd[0], args: cmd.slice(1), env: process.env, stderr: 'inherit' }));
let calls = 0;
for (const entry of corpus) {
  // as free text, and under a key that names the secret
  await client.callTool({ name: 'echo', arguments: { message: entry.text } });
  await client.callTool({ name: 'echo', arguments: { message: 'see config', config: { api_key: entry.secret, note: entry.kind } } });
  calls += 2;
}
await client.close();
console.log(JSON.stringify({ ok: true, calls }));
