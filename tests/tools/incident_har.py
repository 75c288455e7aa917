#!/usr/bin/env python3
# Writes a HAR 1.2 capture of an incident for the timeline test: alice's release agent (act chain
# agent-7 > orchestrator, a CIMD client id) is refused a deploy with 403 insufficient_scope, retries it
# with a refreshed token, starts a task and polls it to completion; bob then reads the task from
# another session (a task_cross_identity finding). Unsigned JWTs (alg none): claims only.
import base64, json, sys

def b64(d):
    return base64.urlsafe_b64encode(json.dumps(d, separators=(",", ":")).encode()).rstrip(b"=").decode()

def jwt(claims):
    return b64({"alg": "none", "typ": "at+jwt"}) + "." + b64(claims) + "."

ISS = "https://idp.example.com"
CIMD = "https://agents.example.com/oauth/release-agent.json"
ACT = {"sub": "agent-7", "act": {"sub": "orchestrator"}}
T1 = jwt({"iss": ISS, "sub": "alice", "client_id": CIMD, "scope": "mcp:tools", "act": ACT,
          "aud": "https://mcp.example.com/mcp", "exp": 1772445900, "iat": 1772445600, "jti": "tok-1"})
T2 = jwt({"iss": ISS, "sub": "alice", "client_id": CIMD, "scope": "mcp:tools mcp:deploy", "act": ACT,
          "aud": "https://mcp.example.com/mcp", "exp": 1772449200, "iat": 1772445700, "jti": "tok-2"})
T3 = jwt({"iss": ISS, "sub": "bob", "client_id": "mcp-inspector", "scope": "mcp:tools",
          "aud": "https://mcp.example.com/mcp", "exp": 1772449200, "iat": 1772445600, "jti": "tok-3"})

entries = []

def ex(t, token, sid, body, status=200, result=None, resp_headers=None):
    req_h = [{"name": "Content-Type", "value": "application/json"},
             {"name": "Accept", "value": "application/json, text/event-stream"},
             {"name": "Authorization", "value": "Bearer " + token}]
    if sid:
        req_h.append({"name": "Mcp-Session-Id", "value": sid})
        req_h.append({"name": "MCP-Protocol-Version", "value": "2025-11-25"})
    rh = list(resp_headers or [])
    text = ""
    if result is not None:
        text = json.dumps({"jsonrpc": "2.0", "id": body["id"], "result": result})
        rh.append({"name": "Content-Type", "value": "application/json"})
    entries.append({
        "startedDateTime": "2026-03-02T" + t + "Z", "time": 20,
        "request": {"method": "POST", "url": "https://mcp.example.com/mcp", "httpVersion": "HTTP/1.1",
                    "cookies": [], "headers": req_h, "queryString": [], "headersSize": -1,
                    "bodySize": -1, "postData": {"mimeType": "application/json", "text": json.dumps(body)}},
        "response": {"status": status, "statusText": "", "httpVersion": "HTTP/1.1", "cookies": [],
                     "headers": rh, "content": {"size": len(text), "mimeType": "application/json", "text": text},
                     "redirectURL": "", "headersSize": -1, "bodySize": -1},
        "cache": {}, "timings": {"send": 0, "wait": 20, "receive": 0}})

def rpc(i, method, params=None):
    b = {"jsonrpc": "2.0", "id": i, "method": method}
    if params is not None:
        b["params"] = params
    return b

init = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "release-agent", "version": "2.1"}}
init_res = {"protocolVersion": "2025-11-25", "capabilities": {"tools": {}, "tasks": {}}, "serverInfo": {"name": "build-server", "version": "1.0"}}
# alice's agent: a step-up on deploy (403, then the same call with a refreshed token), a task polled to completion
ex("10:02:00.000", T1, None, rpc(1, "initialize", init), result=init_res, resp_headers=[{"name": "Mcp-Session-Id", "value": "sess-a"}])
ex("10:02:01.000", T1, "sess-a", rpc(2, "tools/call", {"name": "deploy", "arguments": {"env": "prod"}}), status=403,
   resp_headers=[{"name": "WWW-Authenticate", "value": 'Bearer error="insufficient_scope", scope="mcp:deploy"'}])
ex("10:02:02.000", T2, "sess-a", rpc(2, "tools/call", {"name": "deploy", "arguments": {"env": "prod"}}),
   result={"content": [{"type": "text", "text": "deployed"}]})
ex("10:02:03.000", T2, "sess-a", rpc(3, "tools/call", {"name": "build", "arguments": {}, "task": {"ttl": 60000}}),
   result={"task": {"taskId": "task-77", "status": "working", "ttl": 60000, "pollInterval": 1000}})
for n, t in enumerate(["10:02:04.000", "10:02:05.000", "10:02:06.000"]):
    ex(t, T2, "sess-a", rpc(4 + n, "tasks/get", {"taskId": "task-77"}), result={"taskId": "task-77", "status": "working"})
ex("10:02:07.000", T2, "sess-a", rpc(7, "tasks/get", {"taskId": "task-77"}), result={"taskId": "task-77", "status": "completed"})
ex("10:02:07.500", T2, "sess-a", rpc(8, "tasks/result", {"taskId": "task-77"}), result={"content": [{"type": "text", "text": "ok"}]})
# bob reads alice's task from another session
ex("10:03:00.000", T3, None, rpc(1, "initialize", init), result=init_res, resp_headers=[{"name": "Mcp-Session-Id", "value": "sess-b"}])
ex("10:03:01.000", T3, "sess-b", rpc(2, "tasks/get", {"taskId": "task-77"}), result={"taskId": "task-77", "status": "completed"})
ex("10:03:02.000", T3, "sess-b", rpc(3, "tools/call", {"name": "status", "arguments": {}}), result={"content": []})
json.dump({"log": {"version": "1.2", "creator": {"name": "mcptrail-test", "version": "1"}, "pages": [], "entries": entries}}, sys.stdout, indent=1)
