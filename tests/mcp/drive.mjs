// Drives `mosdat mcp` with an official MCP client, the way a coding agent does, and
// prints what it found as one JSON line; any check that fails exits 1 with the reason.
//   MCP_SDK        legacy: @modelcontextprotocol/sdk (initialize, protocol 2025-11-25)
//                  modern: @modelcontextprotocol/client pinned to 2026-07-28 (stateless)
//   MCP_TRANSPORT  stdio: spawns MCP_COMMAND (a JSON argv); http: MCP_URL with MCP_TOKEN
//   MCP_FLOW       light: the tools and the VMs; full: a session on the VM end to end
//                  (capture, describe, find, act, the draft, the model, close), the draft
//                  written to MCP_EXPORT
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';

const sdk = process.env.MCP_SDK;
const transportKind = process.env.MCP_TRANSPORT;
const flow = process.env.MCP_FLOW ?? 'light';

async function connect() {
  let Client, Stdio, Http, options = {};
  if (sdk === 'legacy') {
    ({ Client } = await import('@modelcontextprotocol/sdk/client/index.js'));
    ({ StdioClientTransport: Stdio } = await import('@modelcontextprotocol/sdk/client/stdio.js'));
    ({ StreamableHTTPClientTransport: Http } =
      await import('@modelcontextprotocol/sdk/client/streamableHttp.js'));
  } else if (sdk === 'modern') {
    ({ Client, StreamableHTTPClientTransport: Http } = await import('@modelcontextprotocol/client'));
    ({ StdioClientTransport: Stdio } = await import('@modelcontextprotocol/client/stdio'));
    options = { versionNegotiation: { mode: { pin: '2026-07-28' } } };
  } else {
    throw new Error(`MCP_SDK must be legacy or modern, not ${sdk}`);
  }
  const client = new Client({ name: 'mosdat-mcp-test', version: '1.0.0' }, options);
  let transport;
  if (transportKind === 'stdio') {
    const [command, ...args] = JSON.parse(process.env.MCP_COMMAND);
    transport = new Stdio({ command, args, env: process.env, stderr: 'inherit' });
  } else {
    transport = new Http(new URL(process.env.MCP_URL), {
      requestInit: { headers: { Authorization: `Bearer ${process.env.MCP_TOKEN}` } },
    });
  }
  await client.connect(transport);
  return client;
}

// A tool's answer: its structured content (or text), and whether it is a tool error.
async function call(client, name, args = {}) {
  const options = { timeout: 300000 };  // a launch or a run of steps may take minutes
  const result = sdk === 'legacy'
    ? await client.callTool({ name, arguments: args }, undefined, options)
    : await client.callTool({ name, arguments: args }, options);
  const text = (result.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
  return { result, text, error: result.isError === true, data: result.structuredContent ?? null };
}

async function until(what, check, seconds) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`gave up after ${seconds} s: ${what}`);
  }
}

// The width and height a PNG's IHDR says.
function pngSize(base64) {
  const png = Buffer.from(base64, 'base64');
  assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG', 'the capture is not a PNG');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

const expectedTools = ['act', 'append_step', 'capture', 'close_session', 'describe',
  'export_yaml', 'find_accessible', 'list_vms', 'localize', 'open_session', 'run_steps',
  'validate', 'verify'];

async function main() {
  const client = await connect();
  const report = { sdk, transport: transportKind };
  if (sdk === 'modern') {
    report.era = client.getProtocolEra();
    assert.equal(report.era, 'modern');
  }
  report.server = client.getServerVersion();
  const { tools } = await client.listTools();
  report.tools = tools.map((t) => t.name).sort();
  assert.deepEqual(report.tools, expectedTools);
  const act = tools.find((t) => t.name === 'act');
  assert.equal(act.annotations.destructiveHint, true);
  assert.equal(tools.find((t) => t.name === 'capture').annotations.readOnlyHint, true);

  const vms = await call(client, 'list_vms');
  assert.ok(!vms.error, vms.text);
  report.vms = vms.data.vms.map((vm) => vm.name);

  // An unknown tool is a protocol error; arguments that do not fit are the tool's error.
  await assert.rejects(call(client, 'no_such_tool'), (e) => e.code === -32602);
  const badArgs = await call(client, 'act', { session_id: 's', action: 'drag' });
  assert.ok(badArgs.error && badArgs.text.includes('invalid arguments for act'), badArgs.text);

  if (flow === 'full') await fullFlow(client, report);
  await client.close();
  console.log(JSON.stringify(report));
}

async function fullFlow(client, report) {
  const opened = await call(client, 'open_session', { vm: 'local' });
  assert.ok(!opened.error, opened.text);
  const session = opened.data.session_id;
  const s = (more) => ({ session_id: session, ...more });

  // The window is up once AT-SPI and OCR both see the label of the second check button.
  const described = await until('the check button under (75, 407)', async () => {
    const d = await call(client, 'describe', s({ x: 75, y: 407 }));
    return !d.error && JSON.stringify(d.data.accessible ?? null).includes('checkbutton') ? d : null;
  }, 90);
  const query = {};
  for (const key of ['app', 'role', 'name', 'name_substr', 'index']) {
    if (described.data.steps.click.atspi[key] !== undefined) query[key] = described.data.steps.click.atspi[key];
  }
  const found = await call(client, 'find_accessible', s(query));
  assert.ok(!found.error, found.text);
  const box = found.data.object.box;
  const x = box.x + Math.floor(box.width / 2), y = box.y + Math.floor(box.height / 2);
  const checked = async () => !(await call(client, 'find_accessible', s({ ...query, states: ['checked'] }))).error;
  const wasChecked = await checked();

  const shot = await call(client, 'capture', s());
  assert.ok(!shot.error, shot.text);
  const image = shot.result.content.find((c) => c.type === 'image');
  assert.equal(image.mimeType, 'image/png');
  report.capture = pngSize(image.data);
  assert.deepEqual(report.capture, { width: shot.data.width, height: shot.data.height });

  // Acting needs confirmation: without it nothing is sent and the box stays as it was.
  const unconfirmed = await call(client, 'act', s({ action: 'click', x, y }));
  assert.ok(unconfirmed.error && unconfirmed.text.includes('"confirm": true'), unconfirmed.text);
  assert.equal(await checked(), wasChecked, 'an unconfirmed act changed the check box');
  const clicked = await call(client, 'act', s({ action: 'click', x, y, semantic: true, confirm: true }));
  assert.ok(!clicked.error, clicked.text);
  await until('the click to toggle the check box', async () => (await checked()) !== wasChecked, 15);
  report.step = clicked.data.step;

  const appended = await call(client, 'append_step', s({ step: clicked.data.step }));
  assert.ok(!appended.error, appended.text);
  assert.equal(appended.data.steps.length, 1);
  const valid = await call(client, 'validate', s({ name: 'mcp-authored' }));
  assert.ok(!valid.error && valid.data.valid === true, valid.text);
  const exported = await call(client, 'export_yaml', s({ name: 'mcp-authored' }));
  assert.ok(!exported.error && exported.text.includes('name: mcp-authored'), exported.text);
  if (process.env.MCP_EXPORT) writeFileSync(process.env.MCP_EXPORT, exported.text);

  // The model (the config's [vlm]): where a thing is, and a yes/no question.
  const localized = await call(client, 'localize', s({ prompt: 'the check button at 27,407 in 1280x800' }));
  assert.ok(!localized.error && localized.data.found === true, localized.text);
  report.localized = { x: localized.data.x, y: localized.data.y };
  const verified = await call(client, 'verify', s({ prompt: 'is the window drawn? [yes]' }));
  assert.ok(!verified.error && verified.data.answer === true, verified.text);

  // A step that runs and fails is an answer, not a tool error.
  const unconfirmedRun = await call(client, 'run_steps', s({ steps: [{ shell: 'exit 3' }] }));
  assert.ok(unconfirmedRun.error, unconfirmedRun.text);
  const failedRun = await call(client, 'run_steps', s({ steps: [{ shell: 'exit 3' }], confirm: true }));
  assert.ok(!failedRun.error && failedRun.data.passed === false, failedRun.text);

  const closed = await call(client, 'close_session', s());
  assert.ok(!closed.error, closed.text);
  const gone = await call(client, 'capture', s());
  assert.ok(gone.error && gone.text.includes('refused by the live server'), gone.text);
}

main().catch((error) => {
  console.error(error?.stack ?? String(error));
  process.exit(1);
});
