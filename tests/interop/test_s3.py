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
import subprocess
import tempfile
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

    def __init__(self, extra_env=None):
        env = dict(os.environ, **ENV, **(extra_env or {}), S3SEAL_LISTEN="127.0.0.1:0", S3SEAL_WWW=str(ROOT / "www"), S3SEAL_PKG=str(ROOT / "pkg"))
        self.proc = subprocess.Popen([BIN, "serve"], env=env, stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        match = re.search(r"http://(127\.0\.0\.1:\d+)", line)
        assert match, f"serve did not start: {line}"
        self.url = "http://" + match.group(1)
        self.lines = []

    def presign(self, **request):
        status, _, body = http("POST", f"{self.url}/api/presign", json.dumps(request).encode(), {"content-type": "application/json"})
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
        # The wrong size is refused by S3: the length is signed.
        status, p = self.serve.presign(op="put", object=name, sseC=sse_c, size=len(sealed) - 1)
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
        status, f = self.serve.presign(op="completeMultipart", object=name, uploadId=upload_id)
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


if __name__ == "__main__":
    unittest.main()
