"""`s3seal serve` presign latency, idle and while 500 slow-loris connections
are held open (audit finding M5), then under load from `oha` (LOAD_CLIENTS
concurrent clients for LOAD_SECONDS, with serve's RSS sampled every second),
against the local Garage. Run inside scripts/with-garage.sh (make bench)
after bench/browser.mjs: it merges into bench/results.json and adds its
table to bench/results.md.

Everything listens on 127.0.0.1; serve is stopped by its PID; the load is
bounded (REQUESTS presigns per phase, SLOW connections, LOAD_SECONDS)."""

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
LOAD_CLIENTS = 200
LOAD_SECONDS = 60
OHA = os.environ.get("OHA", str(Path.home() / ".cache" / "s3seal-tools" / "oha" / "bin" / "oha"))


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


def load(port, pid):
    """LOAD_CLIENTS concurrent clients presigning for LOAD_SECONDS (oha), with
    serve's RSS sampled every second."""
    samples, done = [], threading.Event()

    def sample():
        while not done.wait(1.0):
            samples.append(rss_mib(pid))

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        out = subprocess.run(
            [OHA, "-z", f"{LOAD_SECONDS}s", "-c", str(LOAD_CLIENTS), "-m", "POST",
             "-H", "content-type: application/json", "-d", presign_body(7),
             "--no-tui", "--output-format", "json", f"http://127.0.0.1:{port}/api/presign"],
            check=True, capture_output=True, text=True, timeout=LOAD_SECONDS + 60).stdout
    finally:
        done.set()
        sampler.join()
    report = json.loads(out)
    summary, pct = report["summary"], report["latencyPercentiles"]
    statuses = report.get("statusCodeDistribution", {})
    # oha cuts the requests in flight when the time is up: not serve's errors.
    cut = report.get("errorDistribution", {}).pop("aborted due to deadline", 0)
    errors = sum(report.get("errorDistribution", {}).values()) + sum(n for code, n in statuses.items() if code != "200")
    tenth = max(1, len(samples) // 10)
    return {
        "clients": LOAD_CLIENTS,
        "seconds": LOAD_SECONDS,
        "requests": sum(statuses.values()),
        "errors": errors,
        "cut_at_deadline": cut,
        "per_second": round(summary["requestsPerSec"]),
        "p50_ms": round(pct["p50"] * 1000, 2),
        "p99_ms": round(pct["p99"] * 1000, 2),
        # Flat memory: the first and the last tenth of the run, and the peak.
        "rss_first_tenth_mib": round(max(samples[:tenth]), 1),
        "rss_last_tenth_mib": round(max(samples[-tenth:]), 1),
        "rss_peak_mib": round(max(samples), 1),
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
        results["load"] = load(port, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    path = ROOT / "bench" / "results.json"
    existing = json.loads(path.read_text()) if path.exists() else {}
    existing["presign"] = results
    path.write_text(json.dumps(existing, indent=2) + "\n")
    i, s, l = results["idle"], results["slowloris"], results["load"]
    md = [
        "",
        f"| serve presign figure ({REQUESTS} presigns from {CLIENTS} keep-alive clients, release build) | value | goal |",
        "|---|---|---|",
        f"| idle: p50 / p99 / max latency, throughput | {i['p50_ms']} / {i['p99_ms']} / {i['max_ms']} ms, {i['per_second']}/s, {i['errors']} errors | p99 < {P99_GOAL_MS} ms |",
        f"| with {SLOW} slow-loris connections held open | {s['p50_ms']} / {s['p99_ms']} / {s['max_ms']} ms, {s['per_second']}/s, {s['errors']} errors | p99 < {P99_GOAL_MS} ms |",
        f"| serve RSS: idle / with the slow connections | {results['rss_idle_mib']} / {results['rss_slowloris_mib']} MiB | |",
        f"| load (oha): {l['clients']} clients presigning for {l['seconds']} s | {l['requests']} presigns, {l['per_second']}/s, p50 / p99 {l['p50_ms']} / {l['p99_ms']} ms, {l['errors']} errors ({l['cut_at_deadline']} in flight when oha stopped) | 0 errors |",
        f"| serve RSS under that load: first / last tenth of the run, peak | {l['rss_first_tenth_mib']} / {l['rss_last_tenth_mib']} / {l['rss_peak_mib']} MiB | flat |",
    ]
    md_path = ROOT / "bench" / "results.md"
    text = md_path.read_text() if md_path.exists() else ""
    kept = [block for block in text.split("\n\n") if "serve presign figure" not in block]
    md_path.write_text("\n\n".join(b.strip("\n") for b in kept if b.strip()) + "\n" + "\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
