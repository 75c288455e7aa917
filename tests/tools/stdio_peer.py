#!/usr/bin/python3
"""Stand-in stdio processes for the tap's byte-level and hostile-input tests (not MCP peers: the
real ones are the SDK and server-everything). Modes:

  echo [EXIT]      copy stdin to stdout byte for byte; a marker on stderr; exit EXIT at EOF
  sigwait          wait for SIGTERM, say so on stderr, exit 42
  flood N SIZE     write N JSON-RPC notifications of about SIZE bytes as fast as possible
  hostile          an MCP-ish server that answers initialize and tools/call correctly, but
                   interleaves bad frames of every kind between its good ones
  feed FILE        (client side) write FILE to stdout in random small pieces with pauses,
                   so frames arrive split across many reads
"""
import json, os, random, signal, sys, time

def out(b):
    os.write(1, b) if len(b) < 65536 else sys.stdout.buffer.write(b)

def mode_echo(args):
    os.write(2, b"stderr-marker: \xff raw bytes on stderr\r\n")
    while True:
        b = os.read(0, 65536)
        if not b:
            break
        view = memoryview(b)
        while view:
            n = os.write(1, view)
            view = view[n:]
    sys.exit(int(args[0]) if args else 0)

def mode_sigwait(args):
    got = []
    signal.signal(signal.SIGTERM, lambda s, f: got.append(s))
    os.write(2, b"ready\n")
    while not got:
        signal.pause()
    os.write(2, b"got SIGTERM\n")
    sys.exit(42)

def mode_flood(args):
    n, size = int(args[0]), int(args[1])
    pad = "x" * size
    w = sys.stdout.buffer
    for i in range(n):
        w.write(b'{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"%d %s"}}\n' % (i, pad.encode()))
    w.flush()

def mode_feed(args):
    data = open(args[0], "rb").read()
    rnd = random.Random(7)
    i = 0
    while i < len(data):
        n = rnd.choice([1, 2, 3, 7, 64, 1000, 4096, 65536])
        os.write(1, data[i:i + n]) if n < 65536 else sys.stdout.buffer.write(data[i:i + n])
        sys.stdout.buffer.flush()
        i += n
        if rnd.random() < 0.02:
            time.sleep(0.002)
    sys.stdout.buffer.flush()

BAD_FRAMES = [
    ("invalid JSON", b'{"jsonrpc":"2.0","method":"notifications/message",'),
    ("invalid JSON 2", b'{"jsonrpc":"2.0","id":99,"result":{"a":[1,}}'),
    ("invalid UTF-8", b'{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"\xc3\x28 bad"}}'),
    ("NUL byte", b'{"jsonrpc":"2.0","method":"notif\x00ications/message"}'),
    ("deep nesting", b'[' * 100000 + b']' * 100000),
    ("binary garbage", bytes(random.Random(3).randrange(256) for _ in range(3000)).replace(b"\n", b"\x00")),
    ("64 MiB line", b'{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"' + b"A" * (64 << 20) + b'"}}'),
]

def mode_hostile(args):
    w = sys.stdout.buffer
    def send(obj):
        w.write(json.dumps(obj).encode() + b"\n")
        w.flush()
    bad = list(BAD_FRAMES)
    for line in sys.stdin.buffer:
        msg = json.loads(line)
        if "id" not in msg:
            continue
        # one bad frame before each good answer, so the good ones sit between bad neighbours
        if bad:
            name, frame = bad.pop(0)
            w.write(frame + b"\n")
            w.flush()
        if msg["method"] == "initialize":
            send({"jsonrpc": "2.0", "id": msg["id"], "result": {"protocolVersion": "2025-11-25",
                  "capabilities": {"tools": {}}, "serverInfo": {"name": "hostile", "version": "1"}}})
        elif msg["method"] == "tools/call":
            send({"jsonrpc": "2.0", "id": msg["id"], "result": {"content": [{"type": "text", "text": "ok"}]}})
        else:
            send({"jsonrpc": "2.0", "id": msg["id"], "result": {}})
    for name, frame in bad:
        w.write(frame + b"\n")
    # and a truncated last frame: the stream ends inside it
    w.write(b'{"jsonrpc":"2.0","id":1000,"result":{"trunc')
    w.flush()

if __name__ == "__main__":
    globals()["mode_" + sys.argv[1]](sys.argv[2:])
