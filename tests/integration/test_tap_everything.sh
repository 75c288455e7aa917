#!/usr/bin/env bash
# The real reference SDK client drives the real server-everything through `mcptrail tap`; the
# capture is imported and the trail checked: calls, outcomes, tasks (completed and cancelled),
# the unknown tool, server-initiated requests, progress, session and identity.
source "$(dirname "$0")/lib.sh" "$@"
need_peers
cd "$WORK"
node "$PEERS/drive_stdio.mjs" -- "$MCPTRAIL" tap --out "$WORK/rec.jsonl" --identity svc-auditor \
	-- node "$EVERYTHING" stdio >"$WORK/drive.json" 2>"$WORK/drive.err" ||
	{ cat "$WORK/drive.err" >&2; fail "SDK driver failed"; }

mode=$(stat -c %a "$WORK/rec.jsonl")
[ "$mode" = 600 ] || fail "record file mode is $mode, expected 600"

"$MCPTRAIL" import -o "$WORK/events.jsonl" "$WORK/rec.jsonl" 2>"$WORK/import.err" ||
	{ cat "$WORK/import.err" >&2; fail "import failed"; }
validate_events "$WORK/events.jsonl" \
	--require-types mcp.session,mcp.tool_call,mcp.task,mcp.request,mcp.sampling,mcp.elicitation,mcp.roots,ingest.summary

$PY - "$WORK/drive.json" "$WORK/events.jsonl" "$WORK/rec.jsonl" <<'PY'
import json, sys
drive = json.load(open(sys.argv[1]))
events = [json.loads(l) for l in open(sys.argv[2])]
records = [json.loads(l) for l in open(sys.argv[3])]
def check(cond, msg):
    if not cond:
        print("FAIL:", msg, file=sys.stderr)
        sys.exit(1)

by_type = {}
for e in events:
    by_type.setdefault(e["type"], []).append(e)
calls = by_type["mcp.tool_call"]
def calls_of(tool):
    return [c for c in calls if c["call"]["tool"] == tool]

# every tool call the client made appears exactly once, attributed to the configured identity
sent = drive["wire"]["sent"]["tools/call"]
check(len(calls) == sent, f"{len(calls)} mcp.tool_call events for {sent} tools/call requests")
for c in calls:
    check(c["identity"]["subject"] == "svc-auditor", f"identity {c['identity']}")
    check(c["identity"]["source"] == "configured", "identity source")
    check(c["session"]["transport"] == "stdio", "transport")
    check(c["session"]["protocol_version"] == "2025-11-25", "protocol version")
    check(c["call"]["attempts"] == 1, "attempts")
    check(c["session"]["client"]["name"] == "mcptrail-it", "self-declared client")

for tool in ("echo", "get-sum", "trigger-sampling-request", "trigger-elicitation-request", "get-roots-list"):
    got = [c["call"]["outcome"] for c in calls_of(tool)]
    check(got == ["ok"], f"{tool}: outcomes {got}")
    check(calls_of(tool)[0]["call"]["latency_ms"] is not None, f"{tool}: latency")

unknown = calls_of("no-such-tool")
check(len(unknown) == 1 and unknown[0]["call"]["outcome"] == drive["unknown_tool"] == "tool_error",
      f"unknown tool: {unknown}")

lro = calls_of("trigger-long-running-operation")
check(len(lro) == 1 and lro[0]["call"]["progress_notifications"] == drive["progress"] == 4,
      f"progress counted on the call: {lro}")
check(lro[0]["call"]["latency_ms"] > 1500, "long-running latency")

# tasks: one completes, one is cancelled; one tool_call each, with the final status
done_id = drive["tasks"]["completed"]["taskId"]
cancel_id = drive["tasks"]["cancelled"]["taskId"]
research = {c["task"]["id"]: c for c in calls_of("simulate-research-query")}
check(set(research) == {done_id, cancel_id}, f"task calls {list(research)}")
check(research[done_id]["call"]["outcome"] == "ok" and research[done_id]["task"]["status"] == "completed",
      f"completed task: {research[done_id]}")
check(research[done_id]["call"]["task_augmented"] is True, "task augmented")
check(research[done_id]["task"]["polls"] >= 1, "polls counted")
check(research[done_id]["call"]["latency_ms"] > 3000, "task latency covers the task's life")
check(research[cancel_id]["call"]["outcome"] == "cancelled" and research[cancel_id]["task"]["status"] == "cancelled",
      f"cancelled task: {research[cancel_id]}")
task_events = {}
for t in by_type["mcp.task"]:
    task_events.setdefault(t["task"]["id"], []).append(t["task"]["status"])
check(task_events.get(done_id) == ["working", "completed"], f"status changes {task_events.get(done_id)}")
check(task_events.get(cancel_id) == ["working", "cancelled"], f"status changes {task_events.get(cancel_id)}")

# server-initiated requests are their own events
sampling = by_type["mcp.sampling"]
check(len(sampling) == drive["server_requests"]["sampling"], "sampling events")
check(sampling[0]["request"]["direction"] == "server_to_client", "sampling direction")
el = by_type["mcp.elicitation"]
check(sorted(e["elicitation"]["mode"] for e in el) == ["form", "url"], f"elicitation modes {el}")
url = [e for e in el if e["elicitation"]["mode"] == "url"][0]
check(url["elicitation"]["elicitation_id"], "url elicitation id")
check(url["elicitation"]["action"] == "accept", "elicitation action")
roots = by_type["mcp.roots"]
check(roots[0]["roots"]["uris"] == ["file:///tmp/mcptrail-it"], f"roots {roots}")

# list calls, resources/read and prompts/get are events too
methods = {}
for r in by_type["mcp.request"]:
    methods[r["request"]["method"]] = methods.get(r["request"]["method"], 0) + 1
for m in ("tools/list", "resources/list", "prompts/list", "resources/read", "prompts/get", "tasks/get",
          "tasks/result", "tasks/cancel", "tasks/list"):
    check(methods.get(m, 0) == drive["wire"]["sent"].get(m, 0) and methods.get(m, 0) > 0,
          f"{m}: {methods.get(m)} events, {drive['wire']['sent'].get(m)} sent")
tl = [r for r in by_type["mcp.request"] if r["request"]["method"] == "tools/list"][0]
check(len(tl["tools"]) == 19 and any(t["name"] == "simulate-research-query" and t.get("task_support") == "required"
                                     for t in tl["tools"]), "listed tools with task support")

sessions = by_type["mcp.session"]
check([s["session"]["state"] for s in sessions] == ["start", "end"], "session start and end")
start = sessions[0]["session"]
check(start["server"]["name"] == "mcp-servers/everything", "server info")
check("url" in start["client_capabilities"]["elicitation_modes"], "client capabilities")
check(start["client_capabilities"]["sampling_tools"] is True, "sampling tools capability")
check("requests.tools.call" in start["server_capabilities"]["tasks"], "server task capability")
end = sessions[1]["session"]["counters"]
check(end["tool_calls"] == sent and end["invalid_frames"] == 0, f"counters {end}")

# the recording: every frame of both directions, sequence numbers dense, timestamps in ns
frames = [r for r in records if r["kind"] == "frame"]
check(records[0]["kind"] == "start" and records[-1]["kind"] == "end", "start/end records")
check([r["seq"] for r in frames] == list(range(len(frames))), "dense sequence numbers")
check(all(r["ts"] > 1_600_000_000 * 10**9 for r in frames), "ns timestamps")
check(records[-1]["frames"]["c2s"] + records[-1]["frames"]["s2c"] == len(frames), "end record counts")
check(records[-1]["dropped_frames"] == 0, "no drops")
print(f"ok: {len(calls)} tool calls, {len(by_type['mcp.task'])} task events, {len(events)} events")
PY

# the same input gives the same events (stable event ids)
"$MCPTRAIL" import -o "$WORK/events2.jsonl" "$WORK/rec.jsonl" 2>/dev/null
cmp -s "$WORK/events.jsonl" "$WORK/events2.jsonl" || fail "re-import is not identical"
echo "PASS"
