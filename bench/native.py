#!/usr/bin/env python3
"""`make bench` (native part): throughput next to raw AES-256-GCM on 256 MiB,
and the peak RSS of `s3seal seal` / `s3seal open` on a 2 GiB file.
Writes bench/results.json and bench/results.md."""

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIG_SIZE = 2 << 30
RSS_GOAL_MIB = 64


def run(cmd, **kw):
    print("+", " ".join(map(str, cmd)), file=sys.stderr)
    return subprocess.run(cmd, check=True, cwd=ROOT, **kw)


def peak_rss_mib(cmd, env):
    """Runs cmd under GNU time and returns (seconds, peak RSS in MiB).

    Not os.wait4 on our own child: Linux carries the forking Python's RSS
    high-water mark across exec into the child's ru_maxrss."""
    with tempfile.NamedTemporaryFile(mode="r") as report:
        start = time.monotonic()
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report.name, *map(str, cmd)],
                       cwd=ROOT, env=env, stdout=subprocess.DEVNULL, check=True)
        seconds = time.monotonic() - start
        return seconds, int(report.read().strip().splitlines()[-1]) / 1024


def main():
    results = {}
    with tempfile.NamedTemporaryFile() as out:
        env = dict(os.environ, S3SEAL_BENCH_OUT=out.name)
        run(["cargo", "bench", "--bench", "throughput"], env=env)
        for line in Path(out.name).read_text().splitlines():
            row = json.loads(line)
            results[row["figure"]] = row["value"]

    run(["cargo", "build", "--release", "--features", "cli"])
    binary = ROOT / "target" / "release" / "s3seal"
    work = Path(tempfile.mkdtemp(prefix="s3seal-bench-"))
    try:
        key = work / "root.key"
        run([binary, "keygen", "-o", key])
        plain = work / "big.bin"
        # Random-looking content written in 64 MiB blocks (a sparse file would
        # flatter the read side).
        block = os.urandom(64 << 20)
        with open(plain, "wb") as f:
            for _ in range(BIG_SIZE // len(block)):
                f.write(block)
        del block
        env = dict(os.environ, S3SEAL_KEY=key.read_text().strip())
        sealed = work / "big.s3seal"
        secs, rss = peak_rss_mib([binary, "seal", plain, "-o", sealed, "--quiet"], env)
        results["cli_seal_2gib_seconds"] = round(secs, 2)
        results["cli_seal_2gib_peak_rss_mib"] = round(rss, 1)
        opened = work / "big.out"
        secs, rss = peak_rss_mib([binary, "open", sealed, "-o", opened, "--quiet"], env)
        results["cli_open_2gib_seconds"] = round(secs, 2)
        results["cli_open_2gib_peak_rss_mib"] = round(rss, 1)
        if os.path.getsize(opened) != BIG_SIZE:
            raise SystemExit("open produced the wrong size")
    finally:
        for p in work.iterdir():
            p.unlink()
        work.rmdir()

    results["machine"] = f"{os.cpu_count()} cores, {os.uname().machine}"
    (ROOT / "bench").mkdir(exist_ok=True)
    existing = {}
    path = ROOT / "bench" / "results.json"
    if path.exists():
        existing = json.loads(path.read_text())
    existing["native"] = results
    path.write_text(json.dumps(existing, indent=2) + "\n")

    r = results
    md = [
        "| native figure (256 MiB; medians of 5 rounds, each timing all four back to back) | value |",
        "|---|---|",
        f"| raw AES-256-GCM encrypt, 256 KiB calls | {r['native_raw_aes_256_gcm_mbps']:.0f} MB/s |",
        f"| raw AES-256-GCM decrypt, 256 KiB calls | {r['native_raw_aes_256_gcm_open_mbps']:.0f} MB/s |",
        f"| s3seal seal (full format, push API) | {r['native_seal_mbps']:.0f} MB/s ({r['native_seal_cost_vs_raw']:.2f}x raw; goal < 1.3x) |",
        f"| s3seal open (full format, push API) | {r['native_open_mbps']:.0f} MB/s ({r['native_open_cost_vs_raw']:.2f}x raw; goal < 1.3x) |",
        f"| `s3seal seal` 2 GiB file | {r['cli_seal_2gib_seconds']} s, peak RSS {r['cli_seal_2gib_peak_rss_mib']} MiB (goal < {RSS_GOAL_MIB}) |",
        f"| `s3seal open` 2 GiB file | {r['cli_open_2gib_seconds']} s, peak RSS {r['cli_open_2gib_peak_rss_mib']} MiB (goal < {RSS_GOAL_MIB}) |",
        f"| machine | {r['machine']} |",
    ]
    # The other tables (browser, serve) and the hand-kept notes stay.
    md_path = ROOT / "bench" / "results.md"
    text = md_path.read_text() if md_path.exists() else ""
    kept = [b.strip("\n") for b in text.split("\n\n") if b.strip() and not b.lstrip().startswith("| native figure")]
    md_path.write_text("\n\n".join(["\n".join(md), *kept]) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
