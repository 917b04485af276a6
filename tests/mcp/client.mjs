// MCP client used by the interop tests, built on the official TypeScript SDK.
//
// usage: node tests/mcp/client.mjs (--stdio COMMAND [ARGS...] | --http URL) --call TOOL [--args JSON]
//
// Connects, runs tools/list, then tools/call, and prints one JSON line
//   {"tools": [<tool names>], "result": <CallToolResult>}
// to stdout, exiting 0. A tool result with isError: true is still a result (exit 0).
// Any other failure (connect, protocol error, timeout, output-schema mismatch)
// prints "client: <message>" to stderr and exits 1.
//
// tools/list is called before tools/call on purpose: the SDK's Client caches a
// validator for every tool that declares an outputSchema during listTools(), and
// callTool() then checks structuredContent against it (throwing McpError otherwise).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const USAGE =
  "usage: client.mjs (--stdio COMMAND [ARGS...] | --http URL) --call TOOL [--args JSON]";

function parseArgs(argv) {
  const opts = { stdio: null, http: null, call: null, args: "{}" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--stdio") {
      // The command and its arguments run up to the next --call/--args.
      const cmd = [];
      while (i + 1 < argv.length && argv[i + 1] !== "--call" && argv[i + 1] !== "--args") {
        cmd.push(argv[++i]);
      }
      if (cmd.length === 0) throw new Error("--stdio needs a command");
      opts.stdio = cmd;
    } else if (a === "--http" || a === "--call" || a === "--args") {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      opts[a.slice(2)] = argv[++i];
    } else {
      throw new Error(`unexpected argument ${JSON.stringify(a)}; ${USAGE}`);
    }
  }
  if (!opts.stdio === !opts.http) throw new Error(`give exactly one of --stdio or --http; ${USAGE}`);
  if (!opts.call) throw new Error(`--call is required; ${USAGE}`);
  return opts;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  let toolArgs;
  try {
    toolArgs = JSON.parse(opts.args);
  } catch (e) {
    throw new Error(`--args is not valid JSON: ${e.message}`);
  }

  const transport = opts.stdio
    ? new StdioClientTransport({
        command: opts.stdio[0],
        args: opts.stdio.slice(1),
        // The SDK passes only a few safe variables by default; pass the whole
        // environment so settings such as MEMORY_FILE_PATH reach the server.
        env: { ...process.env },
        stderr: "inherit", // server logs go to our stderr
      })
    : new StreamableHTTPClientTransport(new URL(opts.http));

  const client = new Client({ name: "workflow-interop-client", version: "0.0.0" });
  try {
    await client.connect(transport);
    const { tools } = await client.listTools();
    // No custom result schema and no task API: the SDK's own output validation applies.
    const result = await client.callTool({ name: opts.call, arguments: toolArgs });
    const line = JSON.stringify({ tools: tools.map((t) => t.name), result }) + "\n";
    await new Promise((resolve) => process.stdout.write(line, resolve));
  } finally {
    // For HTTP, end the server-side session; then close (kills a stdio child).
    if (transport instanceof StreamableHTTPClientTransport && transport.sessionId) {
      await transport.terminateSession().catch(() => {});
    }
    await client.close().catch(() => {});
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    let msg = err instanceof Error ? err.message : String(err);
    // fetch errors hide the reason (e.g. ECONNREFUSED) in err.cause
    if (err?.cause?.message) msg += ` (${err.cause.message})`;
    process.stderr.write(`client: ${msg}\n`);
    process.exit(1);
  },
);
