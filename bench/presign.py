"""`s3seal serve` presign latency, idle and while 500 slow-loris connections
are held open (audit finding M5), against the local Garage. Run inside
scripts/with-garage.sh (make bench) after bench/browser.mjs: it merges into
bench/results.json and adds its table to bench/results.md.

Everything listens on 127.0.0.1; serve is stopped by its PID; the load is
bounded (REQUESTS presigns per phase, SLOW connections)."""

import base64
import hashlib
import http.client
import json
import os
import re
import resource
import socket
import statistics
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = os.environ.get("S3SEAL_BIN", str(ROOT / "target" / "release" / "s3seal"))
REQUESTS = 2000
CLIENTS = 8
SLOW = 500
P99_GOAL_MS = 100


def rss_mib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def presign_body(i):
    # Objects never written: a `get` presign is pure policy and signing
    # (put would add serve's HEAD to S3, measured in the e2e tests instead).
    key = bytes([i % 256]) * 32
    return json.dumps({
        "op": "get",
        "object": f"{i:032x}.s3seal",
        "sseC": {"algorithm": "AES256", "key": base64.b64encode(key).decode(),
                 "keyMd5": base64.b64encode(hashlib.md5(key).digest()).decode()},
    })


def phase(port):
    """REQUESTS presigns from CLIENTS keep-alive clients; latencies in ms."""
    latencies, errors = [], []
    lock = threading.Lock()
    per_client = REQUESTS // CLIENTS

    def client(c):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for j in range(per_client):
            body = presign_body(c * per_client + j)
            started = time.perf_counter()
            try:
                conn.request("POST", "/api/presign", body, {"content-type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 200
            except OSError as err:
                ok, resp = False, err
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            ms = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(ms)
                if not ok:
                    errors.append(str(getattr(resp, "status", resp)))

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "per_second": round(len(latencies) / seconds),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2),
        "max_ms": round(latencies[-1], 2),
    }


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    env = dict(os.environ, S3SEAL_LISTEN="127.0.0.1:0", S3SEAL_WWW=str(ROOT / "www"),
               S3SEAL_PKG=str(ROOT / "pkg"), S3SEAL_RATE_LIMIT="0")  # the server, not the limiter
    proc = subprocess.Popen([BIN, "serve"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        port = int(re.search(r"127\.0\.0\.1:(\d+)", proc.stderr.readline()).group(1))
        threading.Thread(target=proc.stderr.read, daemon=True).start()  # drain the log
        results = {"idle": phase(port), "rss_idle_mib": round(rss_mib(proc.pid), 1)}
        held = []
        for i in range(SLOW):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            if i % 2:
                s.sendall(b"POST /api/presign HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            else:
                s.sendall(f"POST /api/presign HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                          "content-length: 1000\r\n\r\n{".encode())
            held.append(s)
        try:
            results["slowloris"] = phase(port)
            results["rss_slowloris_mib"] = round(rss_mib(proc.pid), 1)
        finally:
            for s in held:
                s.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    path = ROOT / "bench" / "results.json"
    existing = json.loads(path.read_text()) if path.exists() else {}
    existing["presign"] = results
    path.write_text(json.dumps(existing, indent=2) + "\n")
    i, s = results["idle"], results["slowloris"]
    md = [
        "",
        f"| serve presign figure ({REQUESTS} presigns from {CLIENTS} keep-alive clients, release build) | value | goal |",
        "|---|---|---|",
        f"| idle: p50 / p99 / max latency, throughput | {i['p50_ms']} / {i['p99_ms']} / {i['max_ms']} ms, {i['per_second']}/s, {i['errors']} errors | p99 < {P99_GOAL_MS} ms |",
        f"| with {SLOW} slow-loris connections held open | {s['p50_ms']} / {s['p99_ms']} / {s['max_ms']} ms, {s['per_second']}/s, {s['errors']} errors | p99 < {P99_GOAL_MS} ms |",
        f"| serve RSS: idle / with the slow connections | {results['rss_idle_mib']} / {results['rss_slowloris_mib']} MiB | |",
    ]
    md_path = ROOT / "bench" / "results.md"
    text = md_path.read_text() if md_path.exists() else ""
    kept = [block for block in text.split("\n\n") if "serve presign figure" not in block]
    md_path.write_text("\n\n".join(b.strip("\n") for b in kept if b.strip()) + "\n" + "\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
