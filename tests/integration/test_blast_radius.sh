#!/usr/bin/env bash
# Blast radius on the real-server captures: `mcptrail import` of the bundled stdio capture (the
# reference SDK against server-everything) and of the HAR / Envoy captures, then
# `mcptrail blast-radius` in text, JSON and HTML. The numbers are those computed by hand in the
# README's worked example; the HTML is rendered by headless chromium, which must show the
# ranking, the reach graphs and the evidence, and must not have fetched anything.
source "$(dirname "$0")/lib.sh" "$@"
cd "$WORK"
export MCPTRAIL_STATE_DIR=$WORK
CAPS=("$SRC/tests/data/demo-capture.jsonl" "$SRC"/tests/data/captures/*)

"$MCPTRAIL" import -o events.jsonl "${CAPS[@]}" 2>import.err || { cat import.err; fail "import"; }
validate_events events.jsonl --require-types identity.blast_radius
"$MCPTRAIL" import -o again.jsonl "${CAPS[@]}" 2>/dev/null
diff <(grep identity.blast_radius events.jsonl) <(grep identity.blast_radius again.jsonl) >/dev/null ||
	fail "identity.blast_radius events are not stable across imports"

# ---- text and JSON: the default window (30 days ending at the newest event) ----
"$MCPTRAIL" blast-radius events.jsonl >text.out 2>text.err || fail "text: $(cat text.err)"
cat text.out
"$MCPTRAIL" blast-radius --format json -o report.json events.jsonl 2>json.err || fail "json: $(cat json.err)"
echo '{"servers": {"mcp-servers/everything": {"criticality": 2, "trusted": true}}}' >trusted.json
"$MCPTRAIL" blast-radius --format json --config trusted.json -o trusted.report.json events.jsonl 2>/dev/null ||
	fail "json with --config"
"$MCPTRAIL" blast-radius --format json --window 365 -o year.report.json events.jsonl 2>/dev/null ||
	fail "json --window 365"
$PY - <<'PY' || fail "text/JSON numbers"
import json, math, re, sys
def check(c, m):
    if not c:
        print("FAIL:", m, file=sys.stderr); sys.exit(1)
events = [json.loads(l) for l in open("events.jsonl")]
ids = {e["event_id"] for e in events}
rep = json.load(open("report.json"))
who = [(i["identity"]["subject"], i["identity"]["issuer"]) for i in rep["identities"]]
# both stdio identities of the capture ran the same session against the same server: a tie, ranked
# by key; the HAR identity (March) is outside the 30-day window
check(who == [("alice", None), ("svc-release-agent", None)], f"ranking {who}")
check(rep["stats"]["identities_outside_window"] == 1, "HAR identity outside the window")
for i in rep["identities"]:
    cap = i["capability"]
    # server-everything is not marked trusted: its 19 tools weigh 10 each (spec defaults), plus
    # one resource prefix (demo://resource/static/document/) of weight 1
    check(cap["tools_granted"] == 19 and cap["tools_used"] == 8, f"tools {cap}")
    check(cap["C"] == 191 and cap["C_used"] == 81 and cap["destructive"] == 19, f"C {cap}")
    check(cap["resources_granted"] == 1 and cap["resources_used"] == 1, f"resources {cap}")
    check(abs(cap["unused_privilege"] - (1 - 81 / 191)) < 1e-3, f"1-U {cap}")
    check(i["mbr"] == 191 and abs(i["score"] - 25 * math.log10(192)) < 0.01, f"score {i['score']}")
    amp = i["amplifiers"]
    check([amp[k]["value"] for k in "DSPL"] == [1, 1, 1, 1], f"amplifiers {amp}")
    # the client declared sampling.tools, but the server's sampling request carried no tools
    check(amp["S"]["client_sampling_tools"] and not amp["S"]["server_sent_tools"], "S")
    check(amp["P"]["tasks"] == 2 and amp["P"]["outlived"] == 0, f"P {amp['P']}")
    check(not i["orphan"]["value"], "orphan")
    check(len(i["top_contributors"]) == 5, "top 5")
    # every evidence id names an event of the input
    found = set(re.findall(r'"([0-9a-f]{32})"', json.dumps(i)))
    check(found and found <= ids, f"evidence ids not in the input: {sorted(found - ids)[:3]}")
    check(i["readout"].startswith(i["identity"]["subject"] + ": C=191 (0 read, 0 write, 19 destructive"), i["readout"])
svc = rep["identities"][1]
check(svc["identity"]["nhi"] and svc["interactive_nhi"]["value"], "svc-release-agent: interactive NHI")
check(svc["interactive_nhi"]["reason"] == "elicitation answered by a user", svc["interactive_nhi"])
check(not rep["identities"][0]["interactive_nhi"]["value"], "alice is a person")
# the import's identity.blast_radius events carry the same numbers
evs = {e["blast_radius"]["identity"]["key"]: e["blast_radius"] for e in events if e["type"] == "identity.blast_radius"}
check(len(evs) == 2, f"{len(evs)} identity.blast_radius events")
for i in rep["identities"]:
    check(evs[i["identity"]["key"]]["mbr"] == i["mbr"], "event vs report")

# trusted annotations, criticality 2: 10 read-only tools 1·2, 9 write tools (3·2, ×2 open world
# for 4 of them) = 78, one resource prefix 2: C = 100; used: 3 read-only (6), 5 write
# (12+6+12+6+... = 38) and the resource (2) = 46
tr = json.load(open("trusted.report.json"))
for i in tr["identities"]:
    cap = i["capability"]
    check((cap["read"], cap["write"], cap["destructive"]) == (10, 9, 0), f"classes {cap}")
    check(cap["C"] == 100 and cap["C_used"] == 46, f"trusted C {cap}")
    check(abs(i["score"] - 25 * math.log10(101)) < 0.01, f"trusted score {i['score']}")
# a year: the HAR identity too, with its bearer token's scopes, both presented on a working call
yr = json.load(open("year.report.json"))
check(len(yr["identities"]) == 3, "365 days: 3 identities")
har = yr["identities"][2]
check(har["identity"]["issuer"] == "https://auth.example.com" and har["identity"]["client_ids"] == ["mcp-inspector"], har["identity"])
check(har["capability"]["C"] == 10 and har["scopes"]["granted"] == ["mcp:tools", "mcp:read"] and har["scopes"]["unused"] == [], har["scopes"])
check(har["amplifiers"]["L"]["value"] == 1 and not har["amplifiers"]["L"]["static"], "token with exp")
print("text/JSON: ranking and numbers as computed by hand")
PY
grep -Eq '^ +1  alice +57\.1 +191\.0 +191 ' text.out || fail "text table: rank 1"
grep -Eq '^ +2  svc-release-agent +57\.1 .*interactive-nhi' text.out || fail "text table: rank 2"
grep -q '^svc-release-agent: C=191 (0 read, 0 write, 19 destructive, 1 resource prefix; 1 server) D=1 S=1 P=1 L=1 → MBR=191 → 57/100; 11/19 tools unused; interactive use of a non-human identity.$' text.out ||
	fail "readout line"

# ---- interactive use: the HAR capture again, its requests sent by a browser, its subject
# declared a non-human identity ----
$PY - "$SRC/tests/data/captures/mcp-session.har" browser.har <<'PY'
import json, sys
har = json.load(open(sys.argv[1]))
for e in har["log"]["entries"]:
    e["request"]["headers"].append({"name": "User-Agent", "value": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"})
json.dump(har, open(sys.argv[2], "w"))
PY
"$MCPTRAIL" import -o browser.jsonl browser.har 2>/dev/null || fail "import of the browser HAR"
validate_events browser.jsonl
grep -q '"user_agent":"Mozilla/5.0' browser.jsonl || fail "the User-Agent did not reach the events"
echo '{"nhi_subjects": ["alice"]}' >nhi.json
"$MCPTRAIL" blast-radius --format json --config nhi.json -o browser.report.json browser.jsonl 2>/dev/null ||
	fail "blast-radius of the browser HAR"
$PY - <<'PY' || fail "interactive use by a browser"
import json, sys
i = json.load(open("browser.report.json"))["identities"][0]
ok = i["identity"]["nhi"] and i["interactive_nhi"]["value"] and i["interactive_nhi"]["reason"] == "browser user agent"
ok = ok and len(i["interactive_nhi"]["evidence"]) > 0
print("browser on an NHI token:", i["interactive_nhi"]) if ok else sys.exit(f"FAIL: {i['interactive_nhi']}")
PY

# ---- bad input: counted, reported, never a crash; zstd file-sink segments read as well ----
{ cat events.jsonl; echo 'not json'; echo '[1,2]'; printf '{"type":"mcp.tool_call","time":'; } >bad.jsonl
"$MCPTRAIL" blast-radius --format json -o bad.report.json bad.jsonl 2>bad.err || fail "bad lines: exit $?"
grep -q '3 bad lines' bad.err || fail "bad lines not reported: $(cat bad.err)"
zstd -q events.jsonl -o events.jsonl.zst
"$MCPTRAIL" blast-radius --format json events.jsonl.zst >zst.report.json 2>/dev/null || fail "zstd"
cmp -s zst.report.json report.json || fail "zstd input gives another report"
"$MCPTRAIL" blast-radius --format json - <events.jsonl >stdin.report.json 2>/dev/null || fail "stdin"
cmp -s stdin.report.json report.json || fail "stdin gives another report"

# ---- HTML, rendered by headless chromium ----
# hostile strings from events (a subject and a tool name that are markup pointing at a canary
# address) must come out as text
$PY - <<'PY'
import json
ident = {"subject": "\"><script>fetch('http://127.0.0.1:9/subject')</script>\u001b[2J", "issuer": "https://evil",
         "client_id": None, "scopes": ["<b>x</b>"], "actors": [], "source": "bearer_jwt", "verified": False}
sess = {"id": "evil-1", "transport": "http", "protocol_version": None, "stream": "evil-1",
        "server": {"name": "</text><image href=\"http://127.0.0.1:9/server.png\"/>"}}
tool = "<img src=http://127.0.0.1:9/tool.png onerror=alert(1)>"
base = {"schema": "mcptrail/1", "time": "2026-11-27T15:14:20.000Z", "identity": ident, "session": sess}
with open("hostile.jsonl", "w") as f:
    f.write(json.dumps(dict(base, event_id="e" * 32, type="mcp.request",
                            request={"method": "tools/list", "outcome": "ok"}, tools=[{"name": tool}])) + "\n")
    f.write(json.dumps(dict(base, event_id="f" * 32, type="mcp.tool_call",
                            call={"tool": tool, "outcome": "ok"})) + "\n")
PY
"$MCPTRAIL" blast-radius --format html -o report.html events.jsonl hostile.jsonl 2>html.err || fail "html: $(cat html.err)"
"$MCPTRAIL" blast-radius events.jsonl hostile.jsonl >hostile.txt 2>/dev/null || fail "text of hostile events"
! grep -q $'\x1b' hostile.txt || fail "an escape sequence from an event reached the terminal output"
grep -q "fetch('http://127.0.0.1:9/subject')" hostile.txt || fail "hostile identity missing from the text"
! grep -q '<img' report.html || fail "an event's markup reached the HTML"
! grep -Eq "<[^>]*[[:space:]](src|href)=[\"']?(https?:)?//" report.html || fail "the HTML references something to fetch"
if ! command -v chromium >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || true
	fi
fi
if ! command -v chromium >/dev/null; then
	echo "SKIP (HTML rendering): chromium is not installed and could not be installed (deploy/setup.sh test installs it)"
	echo "PASS"
	exit 0
fi
render() { # FILE NETLOG [more chromium flags]
	local file=$1 netlog=$2
	shift 2
	rm -rf "$WORK/chromium-profile"
	timeout 120 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$WORK/chromium-profile" \
		--log-net-log="$netlog" --window-size=1280,2400 "$@" "file://$WORK/$file" 2>>chromium.err
}
# the page's own requests carry the file:// page as their initiator; chromium's background
# services (component updates, time) have none: count the former
page_requests() {
	$PY - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
names = {v: k for k, v in d["constants"]["logEventTypes"].items()}
urls = set()
for e in d["events"]:
    p = e.get("params") or {}
    if names.get(e["type"]) == "URL_REQUEST_START_JOB" and p.get("initiator") != "not an origin":
        if p.get("url") and not p["url"].startswith(("file:", "data:", "chrome")):
            urls.add(p["url"])
print("\n".join(sorted(urls)))
PY
}
# a control page that does fetch: proves the detector sees page requests
echo '<html><body><img src="http://127.0.0.1:9/control.png"></body></html>' >control.html
render control.html control.netlog --dump-dom >/dev/null
[ -n "$(page_requests control.netlog)" ] || fail "the netlog check does not see a page's requests"
render report.html report.netlog --dump-dom >dom.html
render report.html shot.netlog --screenshot="$WORK/blast-radius.png" >/dev/null
[ -s blast-radius.png ] || fail "no screenshot"
req=$(page_requests report.netlog)
[ -z "$req" ] || fail "the page made network requests: $req"
req=$(page_requests shot.netlog)
[ -z "$req" ] || fail "the page made network requests (screenshot run): $req"
$PY - <<'PY' || fail "rendered DOM"
import json, re, sys, html
def check(c, m):
    if not c:
        print("FAIL:", m, file=sys.stderr); sys.exit(1)
dom = open("dom.html").read()
ids = {json.loads(l)["event_id"] for l in open("events.jsonl")} | {"e" * 32, "f" * 32}
# ranking: the bar chart and the sections in score order
chart = re.search(r'<svg id="ranking".*?</svg>', dom, re.S).group(0)
names = [html.unescape(t) for t in re.findall(r'text-anchor="end"[^>]*>(.*?)</text>', chart)]
check(names[:2] == ["alice", "svc-release-agent"], f"chart order {names}")
check(len(re.findall(r'<rect class="bar"', chart)) == 3, "3 bars")
scores = [float(s) for s in re.findall(r'data-score="([0-9.]+)"', dom)]
check(scores == sorted(scores, reverse=True) and abs(scores[0] - 57.08) < 0.01, f"scores {scores}")
sections = re.findall(r'<section class="card identity" id="id-(\d+)"', dom)
check(sections == ["1", "2", "3"], f"sections {sections}")
# reach graphs: one per identity; 9 used edges (8 tools + 1 resource prefix) and 11 granted-only
# ones for each stdio identity; destructive (untrusted) tools marked
graphs = re.findall(r'<svg class="reach" id="graph-(\d+)".*?</svg>', dom, re.S)
check(len(graphs) == 3, f"{len(graphs)} graphs")
g1 = re.search(r'<svg class="reach" id="graph-1".*?</svg>', dom, re.S).group(0)
check(len(re.findall(r'<line class="edge used"', g1)) == 9, "used edges")
check(len(re.findall(r'<line class="edge granted"', g1)) == 11, "granted edges")
check(len(re.findall(r'class="node tool used destructive"', g1)) == 8, "destructive marks")
check("node server" in g1 and "mcp-servers/everything" in g1, "server node")
# the evidence behind the numbers, and nothing but event ids of the input
eids = set(re.findall(r'<code class="eid">([^<]*)</code>', dom))
check(len(eids) >= 10 and eids <= ids, f"evidence ids {sorted(eids - ids)[:3]}")
check("interactive use of a non-human identity" in dom, "interactive NHI flag")
check("unused privilege" in dom and "C·D·S·P·L" in dom, "components")
# the hostile strings are text, not markup
check("<img" not in dom and "<image" not in dom and dom.count("<script") == 1, "markup from events rendered")
check("&lt;img src=http://127.0.0.1:9/tool.png" in dom, "hostile tool name shown as text")
check("fetch('http://127.0.0.1:9/subject')" in html.unescape(dom), "hostile subject shown as text")
print("HTML: ranking, reach graphs, evidence rendered; no request; hostile strings escaped")
PY

# ---- the daemon's schedule ----
cat >collect.json <<EOF
{"state_dir": "$WORK/collect-state", "inputs": [{"type": "file", "path": "$SRC/tests/data/demo-capture.jsonl"}],
 "sinks": [{"uri": "file:$WORK/collected.jsonl"}], "correlator": {"blast_radius_interval_s": 1}}
EOF
"$MCPTRAIL" collect -c collect.json >collect.log 2>&1 &
pid=$!
for _ in $(seq 1 60); do
	[ "$(grep -c '"identity.blast_radius"' collected.jsonl 2>/dev/null)" = 2 ] && break
	sleep 0.25
done
kill -TERM $pid
wait $pid || fail "collect exit $?: $(cat collect.log)"
[ "$(grep -c '"identity.blast_radius"' collected.jsonl)" = 2 ] || fail "collect: no scheduled identity.blast_radius events"
validate_events collected.jsonl --require-types identity.blast_radius
echo "screenshot: $WORK/blast-radius.png"
echo "PASS"
