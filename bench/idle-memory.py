"""What one idle page costs the signaling server: starts `loopback-server` (the binary given),
opens N WebSockets from as many 127.0.x.y addresses, each joined to a room of its own, and
prints the server's resident memory before and after, per connection.

    cargo build --release -p loopback-server
    python3 bench/idle-memory.py target/release/loopback-server dist 300
"""
import base64, json, os, socket, struct, subprocess, sys, time

def rss(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

def frame(text):
    data = text.encode()
    mask = os.urandom(4)
    header = bytes([0x81])
    n = len(data)
    header += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n)
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))

def ws(port, source, room):
    s = socket.socket()
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /signal HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:{port}\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(4096)
    assert head.startswith(b"HTTP/1.1 101"), head[:80]
    s.sendall(frame(json.dumps({"type": "join", "room": room})))
    return s

binary, dist, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
port = 18000 + os.getpid() % 1000
server = subprocess.Popen([binary, "--listen", f"127.0.0.1:{port}", "--dist", dist], stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
time.sleep(1.5)
# Warm up: one connection, so one-time allocations are not counted.
warm = ws(port, "127.0.0.250", "warmup")
time.sleep(1)
before = rss(server.pid)
sockets = [ws(port, f"127.0.{1 + i // 200}.{2 + i % 200}", f"memroom{i}") for i in range(n)]
time.sleep(3)
after = rss(server.pid)
print(f"{binary}: {n} idle joined WebSockets: RSS {before} -> {after} KiB, {(after - before) / n:.1f} KiB each")
server.terminate()
server.wait()
