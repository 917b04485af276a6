"""A small MCP server over stdio (newline-delimited JSON-RPC) that misbehaves as asked.

    python3 odd.py MODE

MODE: `ok` answers well; `crash` exits in the middle of a call; `hang` never answers a call;
`garbage` writes lines that are not JSON-RPC instead of answering; `slow-start` never answers
the handshake. Its one tool, `env`, returns the names of the variables of its environment
(structured content), and `fail` returns `isError`.
"""
import json
import os
import sys
import time

MODE = sys.argv[1] if len(sys.argv) > 1 else "ok"
TOOLS = [
    {"name": "env", "description": "The names of this server's environment variables.",
     "inputSchema": {"type": "object", "properties": {}},
     "outputSchema": {"type": "object", "properties": {"names": {"type": "array", "items": {"type": "string"}}},
                      "required": ["names"]},
     "annotations": {"readOnlyHint": True}},
    {"name": "fail", "description": "Always fails.",
     "inputSchema": {"type": "object", "properties": {"why": {"type": "string"}}}},
]


def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    request = json.loads(line)
    method, ident = request.get("method"), request.get("id")
    if ident is None:
        continue  # a notification
    if method == "initialize":
        if MODE == "slow-start":
            time.sleep(3600)
        if MODE == "garbage":
            sys.stdout.write("this is not JSON-RPC\n{\"half\": \n")
            sys.stdout.flush()
            continue
        version = request["params"].get("protocolVersion", "2025-03-26")
        send({"jsonrpc": "2.0", "id": ident, "result": {
            "protocolVersion": version, "capabilities": {"tools": {}},
            "serverInfo": {"name": "odd", "version": "0"}}})
    elif method == "tools/list":
        send({"jsonrpc": "2.0", "id": ident, "result": {"tools": TOOLS}})
    elif method == "tools/call":
        if MODE == "crash":
            os._exit(3)
        if MODE == "hang":
            time.sleep(3600)
        name = request["params"]["name"]
        if name == "env":
            names = sorted(os.environ)
            send({"jsonrpc": "2.0", "id": ident, "result": {
                "content": [{"type": "text", "text": json.dumps({"names": names})}],
                "structuredContent": {"names": names}}})
        else:
            why = request["params"].get("arguments", {}).get("why", "no reason")
            send({"jsonrpc": "2.0", "id": ident, "result": {
                "content": [{"type": "text", "text": f"refused: {why}"}], "isError": True}})
    else:
        send({"jsonrpc": "2.0", "id": ident, "error": {"code": -32601, "message": "method not found"}})
