"""`s3seal serve` against a real S3 (local Garage), with boto3 as the
independent client and presigner. Needs `scripts/garage.sh start` first
(`make test-s3` does it) and S3SEAL_BIN.

Everything listens on 127.0.0.1; the serve process is stopped by its PID.
"""

import base64
import hashlib
import json
import os
import re
import socket
import socketserver
import stat
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("S3SEAL_BIN", str(ROOT / "target" / "debug" / "s3seal"))


def garage_env():
    out = subprocess.run([str(ROOT / "scripts" / "garage.sh"), "env"], check=True, capture_output=True, text=True).stdout
    return dict(re.findall(r"export (\w+)=(\S+)", out))


ENV = garage_env()
BUCKET = ENV["S3SEAL_BUCKET"]


def s3_client():
    return boto3.client(
        "s3",
        endpoint_url=ENV["S3SEAL_ENDPOINT"],
        aws_access_key_id=ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=ENV["AWS_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


class Serve:
    """`s3seal serve` on a free loopback port, stopped by PID."""

    def __init__(self, extra_env=None, args=()):
        env = dict(os.environ, **ENV, **(extra_env or {}), S3SEAL_LISTEN="127.0.0.1:0", S3SEAL_WWW=str(ROOT / "www"), S3SEAL_PKG=str(ROOT / "pkg"))
        self.proc = subprocess.Popen([BIN, "serve", *args], env=env, stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        match = re.search(r"http://(127\.0\.0\.1:(\d+))", line)
        assert match, f"serve did not start: {line}"
        self.url = "http://" + match.group(1)
        self.port = int(match.group(2))
        self.lines = []

    def presign(self, headers=None, **request):
        status, _, body = http("POST", f"{self.url}/api/presign", json.dumps(request).encode(),
                               {"content-type": "application/json", **(headers or {})})
        return status, json.loads(body)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.lines = self.proc.stderr.read()
        self.proc.stderr.close()
        return self.lines


class ServeAgainstGarage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = Path(cls.tmp.name)
        subprocess.run([BIN, "keygen", "-o", str(cls.dir / "root.key")], check=True, capture_output=True)
        cls.key_text = (cls.dir / "root.key").read_text().strip()
        cls.serve = Serve()
        cls.s3 = s3_client()

    @classmethod
    def tearDownClass(cls):
        log = cls.serve.stop()
        cls.tmp.cleanup()
        cls.serve_log = log

    def seal(self, size, name="data.bin"):
        plain = os.urandom(size)
        (self.dir / name).write_bytes(plain)
        out = subprocess.run([BIN, "seal", str(self.dir / name), "-o", str(self.dir / "obj.s3seal"), "--force",
                              "--key-file", str(self.dir / "root.key"), "--print-file-key"],
                             check=True, capture_output=True, text=True).stdout.split()
        object_name, file_key = out[0], out[1]
        headers = json.loads(subprocess.run([BIN, "sse-c", object_name, "--json", "--key-file", str(self.dir / "root.key")],
                                            check=True, capture_output=True, text=True).stdout)
        sse_c = {
            "algorithm": headers["x-amz-server-side-encryption-customer-algorithm"],
            "key": headers["x-amz-server-side-encryption-customer-key"],
            "keyMd5": headers["x-amz-server-side-encryption-customer-key-MD5"],
        }
        return plain, (self.dir / "obj.s3seal").read_bytes(), object_name, file_key, sse_c

    def get_with_boto3(self, key, sse_c):
        raw = base64.b64decode(sse_c["key"])
        return self.s3.get_object(Bucket=BUCKET, Key=key, SSECustomerAlgorithm="AES256", SSECustomerKey=raw)["Body"].read()

    def open_with_cli(self, sealed):
        (self.dir / "down.s3seal").write_bytes(sealed)
        return subprocess.run([BIN, "open", str(self.dir / "down.s3seal"), "-o", "-", "--key-file", str(self.dir / "root.key")],
                              check=True, capture_output=True).stdout

    def test_single_put_through_serve_lands_as_ciphertext_under_sse_c(self):
        plain, sealed, name, file_key, sse_c = self.seal(300_000)
        status, p = self.serve.presign(op="put", object=name, sseC=sse_c, size=len(sealed))
        self.assertEqual(status, 200, p)
        self.assertNotIn(sse_c["key"], p["url"], "the SSE-C key is a header, not in the URL")
        status, _, body = http(p["method"], p["url"], sealed, p["headers"])
        self.assertEqual(status, 200, body)
        stored = self.get_with_boto3(p["key"], sse_c)
        self.assertEqual(stored, sealed)
        self.assertNotIn(plain[:64], stored, "S3 holds ciphertext")
        self.assertEqual(self.open_with_cli(stored), plain)
        # Without the SSE-C key S3 refuses even to read it.
        with self.assertRaises(ClientError) as err:
            self.s3.get_object(Bucket=BUCKET, Key=p["key"])
        self.assertTrue(400 <= err.exception.response["ResponseMetadata"]["HTTPStatusCode"] < 500)
        # A presigned GET from serve (what a share-link reader does) returns it.
        status, g = self.serve.presign(op="get", object=name, sseC=sse_c)
        status, _, body = http("GET", g["url"], None, g["headers"])
        self.assertEqual((status, body), (200, sealed))

    def test_the_signed_length_binds(self):
        _, sealed, name, _, sse_c = self.seal(1000)
        status, p = self.serve.presign(op="put", object=name, sseC=sse_c, size=len(sealed) - 1)
        self.assertEqual(status, 200, p)
        status, _, _ = http(p["method"], p["url"], sealed, p["headers"])
        self.assertTrue(400 <= status < 500, status)

    def test_multipart_through_serve_and_abort_leaves_nothing(self):
        part_size = 5 << 20
        plain, sealed, name, _, sse_c = self.seal(12 << 20)
        status, c = self.serve.presign(op="createMultipart", object=name, sseC=sse_c, size=len(sealed))
        self.assertEqual(status, 200, c)
        status, _, body = http(c["method"], c["url"], b"", c["headers"])
        self.assertEqual(status, 200, body)
        upload_id = re.search(rb"<UploadId>([^<]+)</UploadId>", body).group(1).decode()
        etags = []
        for number, start in enumerate(range(0, len(sealed), part_size), 1):
            part = sealed[start:start + part_size]
            status, u = self.serve.presign(op="uploadPart", object=name, sseC=sse_c, size=len(part), uploadId=upload_id, partNumber=number)
            self.assertEqual(status, 200, u)
            status, headers, body = http(u["method"], u["url"], part, u["headers"])
            self.assertEqual(status, 200, body)
            etags.append(headers.get("ETag") or headers.get("etag"))
        xml = "<CompleteMultipartUpload>" + "".join(
            f"<Part><PartNumber>{i}</PartNumber><ETag>{e}</ETag></Part>" for i, e in enumerate(etags, 1)) + "</CompleteMultipartUpload>"
        status, f = self.serve.presign(op="completeMultipart", object=name, uploadId=upload_id, size=len(sealed))
        self.assertEqual(status, 200, f)
        status, _, body = http(f["method"], f["url"], xml.encode(), f["headers"])
        self.assertEqual(status, 200, body)
        self.assertEqual(self.open_with_cli(self.get_with_boto3(f["key"], sse_c)), plain)

        # Abort: an upload with one part, aborted, leaves no incomplete upload.
        _, _, name2, _, sse_c2 = self.seal(1000, "small.bin")
        status, c = self.serve.presign(op="createMultipart", object=name2, sseC=sse_c2, size=part_size)
        _, _, body = http(c["method"], c["url"], b"", c["headers"])
        upload_id = re.search(rb"<UploadId>([^<]+)</UploadId>", body).group(1).decode()
        _, u = self.serve.presign(op="uploadPart", object=name2, sseC=sse_c2, size=part_size, uploadId=upload_id, partNumber=1)
        self.assertEqual(http(u["method"], u["url"], os.urandom(part_size), u["headers"])[0], 200)
        _, a = self.serve.presign(op="abortMultipart", object=name2, uploadId=upload_id)
        self.assertEqual(http(a["method"], a["url"])[0], 204)
        pending = self.s3.list_multipart_uploads(Bucket=BUCKET, Prefix=c["key"]).get("Uploads", [])
        self.assertEqual(pending, [])

    def test_boto3_presigned_urls_work_the_same(self):
        plain, sealed, name, _, sse_c = self.seal(50_000)
        key = "uploads/" + name
        raw = base64.b64decode(sse_c["key"])
        url = self.s3.generate_presigned_url("put_object", ExpiresIn=300, Params={
            "Bucket": BUCKET, "Key": key, "SSECustomerAlgorithm": "AES256", "SSECustomerKey": raw})
        headers = {"x-amz-server-side-encryption-customer-algorithm": "AES256",
                   "x-amz-server-side-encryption-customer-key": sse_c["key"],
                   "x-amz-server-side-encryption-customer-key-MD5": sse_c["keyMd5"]}
        status, _, body = http("PUT", url, sealed, headers)
        self.assertEqual(status, 200, body)
        self.assertEqual(self.open_with_cli(self.get_with_boto3(key, sse_c)), plain)
        # An expired URL is refused (Garage answers 400 where AWS answers 403).
        url = self.s3.generate_presigned_url("get_object", ExpiresIn=1, Params={
            "Bucket": BUCKET, "Key": key, "SSECustomerAlgorithm": "AES256", "SSECustomerKey": raw})
        time.sleep(2.5)
        status, _, _ = http("GET", url, None, headers)
        self.assertTrue(400 <= status < 500, status)

    def test_policy_refusals(self):
        _, sealed, name, _, sse_c = self.seal(10)
        status, body = self.serve.presign(op="put", object=name, size=len(sealed))
        self.assertEqual(status, 403)
        self.assertIn("requires SSE-C", body["error"]["message"])
        for bad in ["../x.s3seal", "other/" + name, "name.txt"]:
            status, _ = self.serve.presign(op="put", object=bad, sseC=sse_c, size=1)
            self.assertEqual(status, 403, bad)
        status, body = self.serve.presign(op="put", object=name, sseC=sse_c, size=10 << 40)
        self.assertEqual(status, 403)
        status, _, body = http("POST", f"{self.serve.url}/api/presign", b'{"op":"put","object":"' + name.encode() + b'","fileKey":"x"}')
        self.assertEqual(status, 400, "unknown fields (like a file key) are refused")

    def test_the_backend_log_never_holds_key_material(self):
        _, sealed, name, file_key, sse_c = self.seal(100)
        status, p = self.serve.presign(op="put", object=name, sseC=sse_c, size=len(sealed))
        self.assertEqual(status, 200)
        serve = Serve()
        try:
            serve.presign(op="put", object=name, sseC=sse_c, size=len(sealed))
            serve.presign(op="put", object=name, size=len(sealed))
        finally:
            log = serve.stop()
        self.assertIn("presign", log)
        for secret in [sse_c["key"], sse_c["keyMd5"], file_key, file_key[len("s3seal-file-"):], self.key_text[len("s3seal-root-"):]]:
            self.assertNotIn(secret, log)


    # --- the audit's findings, each reproduced (issue: security hardening) ---

    def put_through(self, serve, name, sealed, sse_c):
        status, p = serve.presign(op="put", object=name, sseC=sse_c, size=len(sealed))
        self.assertEqual(status, 200, p)
        status, _, body = http(p["method"], p["url"], sealed, p["headers"])
        self.assertEqual(status, 200, body)
        return p

    def start_multipart(self, serve, name, sse_c, size, headers=None):
        status, c = serve.presign(op="createMultipart", object=name, sseC=sse_c, size=size, headers=headers)
        self.assertEqual(status, 200, c)
        status, _, body = http(c["method"], c["url"], b"", c["headers"])
        self.assertEqual(status, 200, body)
        return re.search(rb"<UploadId>([^<]+)</UploadId>", body).group(1).decode()

    def test_h1_overwrite_refused(self):
        plain, sealed, name, _, sse_c = self.seal(2000)
        p = self.put_through(self.serve, name, sealed, sse_c)
        # A stranger who knows the name tries to replace it under their own SSE-C key.
        stranger = {"algorithm": "AES256", "key": base64.b64encode(b"\x07" * 32).decode(),
                    "keyMd5": base64.b64encode(hashlib.md5(b"\x07" * 32).digest()).decode()}
        status, body = self.serve.presign(op="put", object=name, sseC=stranger, size=10)
        self.assertEqual(status, 409, body)
        self.assertEqual(body["error"]["code"], "ObjectExists")
        # ... or through a multipart upload: refused at its start (issue 20:
        # starting one writes the share's record, which must not replace the
        # stored object's), and at completion, as before.
        status, body = self.serve.presign(op="createMultipart", object=name, sseC=stranger, size=10)
        self.assertEqual((status, body["error"]["code"]), (409, "ObjectExists"), body)
        status, body = self.serve.presign(op="completeMultipart", object=name, uploadId="x", size=10)
        self.assertEqual(status, 409, body)
        # The owner's object is untouched.
        self.assertEqual(self.open_with_cli(self.get_with_boto3(p["key"], sse_c)), plain)
        # The PUT URL carries If-None-Match: * (honoured by AWS; Garage ignores it).
        _, _, name2, _, sse_c2 = self.seal(10, "other.bin")
        status, p2 = self.serve.presign(op="put", object=name2, sseC=sse_c2, size=10)
        self.assertEqual(p2["headers"].get("if-none-match"), "*")
        self.assertIn("if-none-match", p2["url"])

    def test_h1_tokens_are_required_when_configured(self):
        token = "k" * 40
        path = self.dir / "tokens"
        path.write_text(f"# presign clients\n{token}\n")
        serve = Serve(args=["--token-file", str(path)])
        try:
            _, sealed, name, _, sse_c = self.seal(100)
            request = dict(op="put", object=name, sseC=sse_c, size=len(sealed))
            self.assertEqual(serve.presign(**request)[0], 401)
            self.assertEqual(serve.presign(headers={"authorization": "Bearer " + "x" * 40}, **request)[0], 401)
            status, body = serve.presign(headers={"authorization": f"Bearer {token}"}, **request)
            self.assertEqual(status, 200, body)
            status, _, config = http("GET", f"{serve.url}/api/config")
            self.assertEqual(json.loads(config)["auth"], "bearer")
        finally:
            serve.stop()

    def test_h1_no_open_listener_off_loopback(self):
        # 192.0.2.1 (TEST-NET-1) is on no interface: nothing is ever bound.
        env = dict(os.environ, **ENV, S3SEAL_LISTEN="192.0.2.1:8080")
        out = subprocess.run([BIN, "serve"], env=env, capture_output=True, text=True, timeout=30)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("no access policy", out.stderr)
        out = subprocess.run([BIN, "serve", "--public"], env=env, capture_output=True, text=True, timeout=30)
        self.assertIn("--origin", out.stderr)

    def test_m1_page_security_headers(self):
        for path in ["/", "/app.js", "/api/config"]:
            status, headers, _ = http("GET", self.serve.url + path)
            self.assertEqual(status, 200, path)
            h = {k.lower(): v for k, v in headers.items()}
            csp = h.get("content-security-policy", "")
            for directive in ["default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "worker-src 'self'",
                              "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'",
                              f"connect-src 'self' blob: {ENV['S3SEAL_ENDPOINT']}"]:
                self.assertIn(directive, csp, path)
            self.assertNotIn("unsafe-inline", csp)
            self.assertEqual(h.get("x-content-type-options"), "nosniff", path)
            self.assertEqual(h.get("referrer-policy"), "no-referrer", path)
            self.assertEqual(h.get("cross-origin-opener-policy"), "same-origin", path)
            self.assertIn("camera=()", h.get("permissions-policy", ""), path)

    def test_m3_multipart_over_the_cap_refused(self):
        cap = 1 << 20
        serve = Serve({"S3SEAL_MAX_SIZE": str(cap)})
        try:
            # Declaring the capped size, or no size at all (refused: the
            # size binds the completion): either way nothing is stored.
            for declared in (cap, None):
                _, _, name, _, sse_c = self.seal(100)
                upload_id = self.start_multipart(serve, name, sse_c, cap)
                # Each part is within the cap, and its URL signs its length ...
                for number in (1, 2, 3):
                    status, u = serve.presign(op="uploadPart", object=name, sseC=sse_c, size=cap, uploadId=upload_id, partNumber=number)
                    self.assertEqual(status, 200, u)
                    self.assertEqual(http(u["method"], u["url"], os.urandom(cap), u["headers"])[0], 200)
                # ... but together they are three times over it: completion is refused.
                request = dict(op="completeMultipart", object=name, uploadId=upload_id)
                if declared:
                    request["size"] = declared
                status, body = serve.presign(**request)
                self.assertEqual(status, 403, body)
                self.assertIn("too large" if declared else "total size", body["error"]["message"])
                if not declared:
                    self.s3.abort_multipart_upload(Bucket=BUCKET, Key="uploads/" + name, UploadId=upload_id)
                # The over-cap upload is aborted, and no object was stored.
                pending = self.s3.list_multipart_uploads(Bucket=BUCKET, Prefix="uploads/" + name).get("Uploads", [])
                self.assertEqual(pending, [])
                with self.assertRaises(ClientError):
                    self.s3.head_object(Bucket=BUCKET, Key="uploads/" + name)
        finally:
            serve.stop()

    def test_m4_form_mode_is_not_a_file_host(self):
        identity = self.dir / "org.identity"
        pub = subprocess.run([BIN, "keygen", "--identity", "-o", str(identity)], check=True,
                             capture_output=True, text=True).stdout.strip()
        serve = Serve({"S3SEAL_RECIPIENT": pub})
        try:
            _, sealed, name, _, sse_c = self.seal(100)
            status, body = serve.presign(op="put", object=name, sseC=sse_c, size=len(sealed))
            self.assertEqual(status, 403, "a keyed object is not a form upload")
            (self.dir / "form.txt").write_bytes(b"form upload")
            form_name = subprocess.run([BIN, "seal", str(self.dir / "form.txt"), "--recipient", pub, "-o",
                                        str(self.dir / "form.s3seal"), "--force", "-q"],
                                       check=True, capture_output=True, text=True).stdout.strip()
            headers = json.loads(subprocess.run([BIN, "sse-c", form_name, "--json", "--identity", str(identity)],
                                                check=True, capture_output=True, text=True).stdout)
            form_sse = {"algorithm": "AES256", "key": headers["x-amz-server-side-encryption-customer-key"],
                        "keyMd5": headers["x-amz-server-side-encryption-customer-key-MD5"]}
            form_sealed = (self.dir / "form.s3seal").read_bytes()
            self.put_through(serve, form_name, form_sealed, form_sse)
            for op in ("get", "head"):
                status, body = serve.presign(op=op, object=form_name, sseC=form_sse)
                self.assertEqual(status, 403, f"{op}: {body}")
        finally:
            serve.stop()

    def test_m5_slow_clients_do_not_stall_serve(self):
        """500 slow-loris connections (headers trickling, or a body that never
        comes) held open while a normal presign is made."""
        _, sealed, name, _, sse_c = self.seal(100)
        held = []
        try:
            for i in range(500):
                s = socket.create_connection(("127.0.0.1", self.serve.port), timeout=5)
                if i % 2:
                    s.sendall(b"POST /api/presign HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                else:
                    s.sendall(f"POST /api/presign HTTP/1.1\r\nHost: 127.0.0.1:{self.serve.port}\r\n"
                              "content-type: application/json\r\ncontent-length: 1000\r\n\r\n{".encode())
                held.append(s)
            started = time.monotonic()
            status, body = self.serve.presign(op="put", object=name, sseC=sse_c, size=len(sealed))
            elapsed = time.monotonic() - started
            self.assertEqual(status, 200, body)
            self.assertLess(elapsed, 5, "a normal presign is served while 500 clients stall")
            # The stalled clients are cut off: bodies after the body timeout
            # (408), headers after the header timeout (connection closed).
            deadline = time.monotonic() + 20
            open_count = len(held)
            for s in held:
                s.settimeout(max(0.1, deadline - time.monotonic()))
                try:
                    s.recv(1024)  # an answer or EOF: the server let go
                    open_count -= 1
                except OSError:
                    pass
            self.assertEqual(open_count, 0, "every stalled connection was closed within 20 s")
        finally:
            for s in held:
                s.close()

    def test_l6_audit_log_is_private(self):
        path = self.dir / "audit.jsonl"
        serve = Serve({"S3SEAL_AUDIT_LOG": str(path)})
        try:
            _, sealed, name, _, sse_c = self.seal(100)
            serve.presign(op="get", object=name, sseC=sse_c)
        finally:
            serve.stop()
        self.assertIn(sse_c["key"], path.read_text(), "the log holds SSE-C keys ...")
        self.assertEqual(stat.S_IMODE(path.stat().st_mode), 0o600, "... so only its owner may read it")

    def test_l8_foreign_host_and_origin_refused(self):
        _, sealed, name, _, sse_c = self.seal(100)
        body = json.dumps(dict(op="put", object=name, sseC=sse_c, size=len(sealed))).encode()
        # DNS rebinding: a page at evil.example whose name now resolves to 127.0.0.1.
        with socket.create_connection(("127.0.0.1", self.serve.port), timeout=10) as s:
            s.sendall(b"POST /api/presign HTTP/1.1\r\nHost: evil.example:%d\r\ncontent-type: application/json\r\n"
                      b"content-length: %d\r\nconnection: close\r\n\r\n" % (self.serve.port, len(body)) + body)
            answer = s.recv(4096).decode()
        self.assertTrue(answer.startswith("HTTP/1.1 421"), answer[:80])
        status, _, reply = http("POST", f"{self.serve.url}/api/presign", body,
                                {"content-type": "application/json", "origin": "http://evil.example"})
        self.assertEqual(status, 403, reply)
        status, _, reply = http("POST", f"{self.serve.url}/api/presign", body,
                                {"content-type": "application/json", "origin": self.serve.url})
        self.assertEqual(status, 200, reply)


class PullAgreesWithEveryVector(unittest.TestCase):
    """Issue 17: `pull` opens or refuses every vector as index.json says.
    Each vector is stored in Garage under its object name (the index's, or
    the one its preamble gives, or its original's when the preamble is what
    was damaged), with the SSE-C key a reader derives from that name, in a
    prefix of its own, and pulled with the case's root key, passphrase or
    identity. File-key cases are left out: pull refuses file keys."""

    def test_pull_agrees_with_every_vector(self):
        import sys
        sys.path.insert(0, str(ROOT / "tests" / "interop"))
        import s3seal_spec as spec

        vectors = ROOT / "tests" / "vectors"
        index = json.loads((vectors / "index.json").read_text())
        one_byte_name = spec.object_name(spec.Preamble((vectors / "one_byte.s3seal").read_bytes()).object_id)
        s3 = s3_client()
        run = os.urandom(4).hex()
        env = dict(os.environ, **ENV, AWS_ENDPOINT_URL=ENV["S3SEAL_ENDPOINT"], AWS_REGION=ENV.get("S3SEAL_REGION", "us-east-1"))
        checked = 0
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            by_name = {c["name"]: c for c in index}
            (tmp / "owner.key").write_text(by_name["one_byte"]["key"] + "\n")
            (tmp / "owner.id").write_text("# owner\n" + by_name["recipient_one_byte"]["key"] + "\n")
            owners = {"root": ["--key-file", str(tmp / "owner.key")], "recipient": ["--identity", str(tmp / "owner.id")]}
            for i, case in enumerate(index):
                key = case.get("key")
                if key is not None and key.startswith("s3seal-file-"):
                    continue
                with self.subTest(case["name"]):
                    data = (vectors / case["file"]).read_bytes()
                    name = case.get("object_name")
                    if name is None:
                        try:
                            preamble = spec.Preamble(data)
                            name = spec.object_name(preamble.object_id, preamble.enc)
                        except spec.SpecError:
                            name = one_byte_name
                    args = []
                    if case.get("passphrase") is not None:
                        env["PULL_PASSPHRASE"] = case["passphrase"]
                        args = ["--passphrase-env", "PULL_PASSPHRASE"]
                    elif key.upper().startswith("S3SEAL-SECRET-KEY-1"):
                        (tmp / "id").write_text("# s3seal identity (test vector)\n" + key + "\n")
                        args = ["--identity", str(tmp / "id")]
                    else:
                        (tmp / "k").write_text(key + "\n")
                        args = ["--key-file", str(tmp / "k")]
                    sse_c = subprocess.run([BIN, "sse-c", name, "--json", *args], env=env, capture_output=True, text=True)
                    if sse_c.returncode != 0:
                        # The case's key cannot reach this object's SSE-C key
                        # (KeySource): its owner stored it, with the owner's.
                        owner = owners["recipient" if ".s3seal" in name and name.count(".") == 2 else "root"]
                        sse_c = subprocess.run([BIN, "sse-c", name, "--json", *owner], env=env, capture_output=True, text=True)
                    # Nobody can derive one for a low-order `enc`: whoever stored
                    # it chose any key.
                    sse = (base64.b64decode(json.loads(sse_c.stdout)["x-amz-server-side-encryption-customer-key"])
                           if sse_c.returncode == 0 else os.urandom(32))
                    prefix = f"vectors-{run}/{i}/"
                    s3.put_object(Bucket=BUCKET, Key=prefix + name, Body=data, SSECustomerAlgorithm="AES256", SSECustomerKey=sse)
                    out = tmp / f"out-{i}"
                    res = subprocess.run([BIN, "pull", *args, "--bucket", BUCKET, "--prefix", prefix, "--out", str(out)],
                                         env=env, capture_output=True, text=True, timeout=120)
                    files = sorted(p for p in out.rglob("*") if p.is_file() and not p.name.startswith(".")) if out.exists() else []
                    if case["expect"] == "ok":
                        self.assertEqual(res.returncode, 0, res.stderr)
                        self.assertEqual([p.name for p in files], [case["file_name"]], res.stdout)
                        expected = bytes((31 * j + 7) % 256 for j in range(case["plaintext_len"]))
                        self.assertEqual(files[0].read_bytes(), expected)
                    else:
                        # Refused (exit 1), or not its kind of object (skipped): nothing written.
                        self.assertEqual(files, [], res.stdout + res.stderr)
                        self.assertTrue(res.returncode != 0 or "sealed another way" in res.stderr and "1 sealed another way" in res.stderr,
                                        res.stdout + res.stderr)
                    s3.delete_object(Bucket=BUCKET, Key=prefix + name)
                    checked += 1
        self.assertGreaterEqual(checked, 45)


class PullRefusesForgeries(unittest.TestCase):
    """Issue 17: a staff member holding one recipient object's file key
    rewrites it in the bucket under its real name (with the SSE-C key that
    file key gives). `pull` with the organisation's identity refuses it and
    writes nothing, while it opens the genuine object under the same name."""

    def test_pull_refuses_a_forgery_stored_under_a_real_name(self):
        vectors = ROOT / "tests" / "vectors"
        index = json.loads((vectors / "index.json").read_text())
        case = next(c for c in index if c["name"] == "recipient_opened_by_its_name")
        name = case["object_name"]
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            identity = tmp / "org.identity"
            identity.write_text("# s3seal identity (test vector)\n" + case["key"] + "\n")
            headers = json.loads(subprocess.run([BIN, "sse-c", name, "--json", "--identity", str(identity)],
                                                check=True, capture_output=True, text=True).stdout)
            raw = base64.b64decode(headers["x-amz-server-side-encryption-customer-key"])
            s3 = s3_client()
            run = os.urandom(4).hex()
            env = dict(os.environ, **ENV, AWS_ENDPOINT_URL=ENV["S3SEAL_ENDPOINT"], AWS_REGION=ENV.get("S3SEAL_REGION", "us-east-1"))
            for kind, vector, expect_ok in [("genuine", "recipient_one_byte", True),
                                            ("forged", "recipient_forged_with_file_key", False)]:
                prefix = f"forgery-{run}/{kind}/"
                s3.put_object(Bucket=BUCKET, Key=prefix + name, Body=(vectors / f"{vector}.s3seal").read_bytes(),
                              SSECustomerAlgorithm="AES256", SSECustomerKey=raw)
                out = tmp / kind
                res = subprocess.run([BIN, "pull", "--identity", str(identity), "--bucket", BUCKET, "--prefix", prefix,
                                      "--out", str(out)], env=env, capture_output=True, text=True, timeout=120)
                # pull marks each object's directory with a hidden .s3seal-object file.
                files = sorted(p.name for p in out.rglob("*") if p.is_file() and not p.name.startswith(".")) if out.exists() else []
                if expect_ok:
                    self.assertEqual(res.returncode, 0, res.stderr)
                    self.assertEqual(files, ["vector-1.bin"], res.stdout)
                    self.assertEqual(next(out.rglob("vector-1.bin")).read_bytes(), b"\x07")
                else:
                    self.assertNotEqual(res.returncode, 0, res.stdout)
                    self.assertIn("forged", res.stderr)
                    self.assertEqual(files, [], "a refused object leaves nothing, not even a partial file")
                s3.delete_object(Bucket=BUCKET, Key=prefix + name)


if __name__ == "__main__":
    unittest.main()


class LosesOneAnswer:
    """A proxy on 127.0.0.1 in front of Garage that relays every request and
    its answer, except the answer to the first request `drop(method,
    target)` picks: S3 acts on it, the client sees the connection close. It
    stops by `stop()`; a request waits at most 30 s for Garage."""

    def __init__(self, drop):
        upstream = ENV["S3SEAL_ENDPOINT"].split("//", 1)[1].split("/", 1)[0]
        host, port = upstream.rsplit(":", 1)
        proxy = self

        class Relay(socketserver.BaseRequestHandler):
            def handle(self):
                while (request := self.read()) is not None:
                    method, target, raw = request
                    with socket.create_connection((host, int(port)), timeout=30) as up:
                        up.sendall(raw)
                        answer = b""
                        while chunk := up.recv(1 << 16):
                            answer += chunk
                    with proxy.lock:
                        proxy.seen.append((method, target))
                        dropping = not proxy.dropped and drop(method, target)
                        proxy.dropped |= dropping
                    if dropping:
                        return
                    self.request.sendall(answer)

            @staticmethod
            def chunked_end(body):
                # Whether `body` holds a whole chunked body (its empty last chunk, no trailers).
                at = 0
                while (line_end := body.find(b"\r\n", at)) >= 0:
                    size = int(body[at:line_end].split(b";")[0], 16)
                    if size == 0:
                        return body.endswith(b"\r\n\r\n", line_end)
                    at = line_end + 2 + size + 2
                return False

            def read(self):
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = self.request.recv(1 << 16)
                    if not chunk:
                        return None
                    data += chunk
                head, body = data.split(b"\r\n\r\n", 1)
                lines = head.split(b"\r\n")
                fields = [l for l in lines[1:] if not l.lower().startswith(b"connection:")]
                length = next((int(l.split(b":", 1)[1]) for l in fields if l.lower().startswith(b"content-length:")), 0)
                chunked = any(l.lower().startswith(b"transfer-encoding:") for l in fields)
                while (chunked and not self.chunked_end(body)) or (not chunked and len(body) < length):
                    chunk = self.request.recv(1 << 16)
                    if not chunk:
                        return None
                    body += chunk
                method, target, _ = lines[0].decode().split(" ", 2)
                # One request per upstream connection: its answer ends where Garage closes.
                raw = b"\r\n".join([lines[0], *fields, b"Connection: close"]) + b"\r\n\r\n" + body
                return method, target, raw

        self.seen, self.dropped, self.lock = [], False, threading.Lock()
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Relay)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class PushAgainstGarage(unittest.TestCase):
    """Issue 18: `s3seal push`, the CLI host of the transfer core, through
    `serve`'s presign API (the browser's contract) and through its own
    signer; each object opens byte-identical with the CLI, and nothing is
    left in the bucket but the objects."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = Path(cls.tmp.name)
        subprocess.run([BIN, "keygen", "-o", str(cls.dir / "root.key")], check=True, capture_output=True)
        cls.serve = Serve()
        cls.s3 = s3_client()
        status, _, body = http("GET", f"{cls.serve.url}/api/config")
        cls.prefix = json.loads(body)["prefix"]

    @classmethod
    def tearDownClass(cls):
        cls.serve.stop()
        cls.tmp.cleanup()

    def push(self, *args, state="state", env=None, key=True):
        key_args = ["--key-file", str(self.dir / "root.key")] if key else []
        return subprocess.run([BIN, "push", "--quiet", "--state-dir", str(self.dir / state), *key_args, *args],
                              capture_output=True, text=True, timeout=300, env=env)

    def through_serve(self, *args, **kw):
        return self.push("--presign", f"{self.serve.url}/api/presign", *args, **kw)

    def file(self, size, name):
        plain = os.urandom(size)
        (self.dir / name).write_bytes(plain)
        return plain, str(self.dir / name)

    def stored(self, key, object_name, key_args=None):
        headers = json.loads(subprocess.run([BIN, "sse-c", object_name, "--json", *(key_args or ["--key-file", str(self.dir / "root.key")])],
                                            check=True, capture_output=True, text=True).stdout)
        raw = base64.b64decode(headers["x-amz-server-side-encryption-customer-key"])
        return self.s3.get_object(Bucket=BUCKET, Key=key, SSECustomerAlgorithm="AES256", SSECustomerKey=raw)["Body"].read()

    def opened(self, sealed, *key_args):
        (self.dir / "down.s3seal").write_bytes(sealed)
        return subprocess.run([BIN, "open", str(self.dir / "down.s3seal"), "-o", "-", *(key_args or ["--key-file", str(self.dir / "root.key")])],
                              check=True, capture_output=True).stdout

    def uploads(self, key):
        return self.s3.list_multipart_uploads(Bucket=BUCKET, Prefix=key).get("Uploads", [])

    def test_a_multipart_push_opens_byte_identical(self):
        plain, path = self.file(21 << 20, "big.bin")
        out = self.through_serve("--part-size", str(5 << 20), path)
        self.assertEqual(out.returncode, 0, out.stderr)
        name = out.stdout.strip()
        self.assertRegex(name, r"^[0-9a-f]{32}\.s3seal$")
        self.assertIn(f"pushed {path} -> {name}", out.stderr)
        self.assertEqual(self.opened(self.stored(self.prefix + name, name)), plain)
        self.assertEqual(self.uploads(self.prefix + name), [], "no incomplete upload is left")
        self.assertEqual(list((self.dir / "state").glob("*")), [], "a finished upload forgets its state")

    def test_an_interrupted_push_resumes_where_it_stopped(self):
        plain, path = self.file(26 << 20, "resume.bin")  # 6 parts of 5 MiB
        first = self.through_serve("--part-size", str(5 << 20), "--concurrency", "1", "--stop-after-parts", "2", path, state="resume")
        self.assertNotEqual(first.returncode, 0)
        self.assertIn("stopped after 2 parts", first.stderr)
        states = list((self.dir / "resume").glob("*.json"))
        self.assertEqual(len(states), 1, "the upload is remembered")
        saved = json.loads(states[0].read_text())
        self.assertNotIn("key", json.dumps(saved).lower().replace("keymd5", ""), "the state holds no key")
        pending = self.uploads(self.prefix + saved["object"])
        self.assertEqual(len(pending), 1, "the upload waits in the bucket")
        again = self.through_serve("--part-size", str(5 << 20), path, state="resume")
        self.assertEqual(again.returncode, 0, again.stderr)
        name = again.stdout.strip()
        self.assertEqual(name, saved["object"], "the same object")
        self.assertRegex(again.stderr, r"resumed after [2-9] parts")
        self.assertEqual(self.opened(self.stored(self.prefix + name, name)), plain)
        self.assertEqual(self.uploads(self.prefix + name), [])
        self.assertEqual(list((self.dir / "resume").glob("*")), [])

    def test_a_file_changed_between_runs_is_sealed_afresh_and_its_old_upload_aborted(self):
        plain, path = self.file(16 << 20 | 1, "changed.bin")
        first = self.through_serve("--part-size", str(5 << 20), "--concurrency", "1", "--stop-after-parts", "1", path, state="changed")
        self.assertNotEqual(first.returncode, 0, first.stderr)
        old = json.loads(next((self.dir / "changed").glob("*.json")).read_text())["object"]
        changed = bytes([plain[0] ^ 1]) + plain[1:]
        Path(path).write_bytes(changed)
        again = self.through_serve("--part-size", str(5 << 20), path, state="changed")
        self.assertEqual(again.returncode, 0, again.stderr)
        name = again.stdout.strip()
        self.assertNotEqual(name, old, "new randomness: no nonce is reused for other bytes")
        self.assertEqual(self.opened(self.stored(self.prefix + name, name)), changed)
        self.assertEqual(self.uploads(self.prefix + old), [], "the old upload was aborted")

    def test_a_share_link_and_a_single_put(self):
        plain, path = self.file(1000, "small.txt")
        out = self.through_serve("--link", f"{self.serve.url}/", path)
        self.assertEqual(out.returncode, 0, out.stderr)
        link = out.stdout.strip()
        match = re.fullmatch(re.escape(self.serve.url) + r"/#([0-9a-f]{32}\.s3seal)\.(s3seal-file-[A-Za-z0-9_-]{43})", link)
        self.assertTrue(match, link)
        name, file_key = match.groups()
        (self.dir / "file.key").write_text(file_key + "\n")
        by_link = ["--key-file", str(self.dir / "file.key")]
        stored = self.stored(self.prefix + name, name, by_link)
        self.assertEqual(self.opened(stored, *by_link, "--object-name", name), plain)

    def test_sealed_to_a_recipient_push_gives_a_receipt_and_pull_opens_it(self):
        recipient = subprocess.run([BIN, "keygen", "--identity", "-o", str(self.dir / "org.id")],
                                   check=True, capture_output=True, text=True).stdout.strip()
        plain, path = self.file(17 << 20, "form.pdf")
        out = self.through_serve("--recipient", recipient, "--part-size", str(5 << 20), path, key=False)
        self.assertEqual(out.returncode, 0, out.stderr)
        name, receipt = out.stdout.split()
        self.assertRegex(name, r"^[0-9a-f]{32}\.[0-9a-f]{64}\.s3seal$")
        self.assertEqual(receipt, "sha256=" + hashlib.sha256(plain).hexdigest())
        env = dict(os.environ, **ENV, AWS_ENDPOINT_URL=ENV["S3SEAL_ENDPOINT"], AWS_REGION="us-east-1")
        inbox = self.dir / "inbox"
        prefix = self.prefix + name  # just this object
        res = subprocess.run([BIN, "pull", "--identity", str(self.dir / "org.id"), "--bucket", BUCKET, "--prefix", prefix, "--out", str(inbox)],
                             env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual((inbox / name[:32] / "form.pdf").read_bytes(), plain)

    def test_push_signs_for_itself_with_the_aws_environment(self):
        plain, path = self.file(3 << 20, "own.bin")
        env = dict(os.environ, **ENV, AWS_ENDPOINT_URL=ENV["S3SEAL_ENDPOINT"], AWS_REGION="us-east-1")
        env.pop("AWS_SESSION_TOKEN", None)
        out = self.push("--bucket", BUCKET, "--prefix", "push-own", "--multipart-threshold", str(1 << 20), "--part-size", str(5 << 20), path, env=env)
        self.assertEqual(out.returncode, 0, out.stderr)
        name = out.stdout.strip()
        self.assertEqual(self.opened(self.stored("push-own/" + name, name)), plain)

    def own_signer_env(self, endpoint=None):
        env = dict(os.environ, **ENV, AWS_ENDPOINT_URL=endpoint or ENV["S3SEAL_ENDPOINT"], AWS_REGION="us-east-1")
        env.pop("AWS_SESSION_TOKEN", None)
        return env

    def test_a_completion_whose_answer_was_lost_is_confirmed_by_head(self):
        # CompleteMultipartUpload went through; its retry finds no such
        # upload (404), and HeadObject shows the object.
        proxy = LosesOneAnswer(lambda method, target: method == "POST" and "uploadId=" in target)
        try:
            plain, path = self.file(11 << 20, "lost-complete.bin")
            out = self.push("--bucket", BUCKET, "--prefix", "push-lost", "--multipart-threshold", str(1 << 20),
                            "--part-size", str(5 << 20), path, state="lost", env=self.own_signer_env(proxy.url))
            self.assertEqual(out.returncode, 0, out.stderr)
            name = out.stdout.strip()
            self.assertEqual(self.opened(self.stored("push-lost/" + name, name)), plain)
            completions = [t for m, t in proxy.seen if m == "POST" and "uploadId=" in t]
            self.assertEqual(len(completions), 2, proxy.seen)
            self.assertEqual(proxy.seen[-1][0], "HEAD", proxy.seen)
            self.assertEqual(self.uploads("push-lost/" + name), [])
        finally:
            proxy.stop()

    def test_push_never_sends_keys_to_a_plain_http_backend(self):
        _, path = self.file(10, "x.bin")
        out = self.push("--presign", "http://s3seal.example/api/presign", path)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("insecure endpoint", out.stderr)
