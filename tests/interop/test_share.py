"""Issue 20: sharing state kept in the bucket by `s3seal serve` (expiry,
download limits, the owner's delete), against a real S3 (local Garage),
with two serve replicas in front of one bucket, `s3seal push --expires
--downloads` and `s3seal delete`. boto3 reads what is really stored.

Everything listens on 127.0.0.1; serve processes are stopped by PID; the
concurrent test sends a fixed number of requests.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_s3 import BIN, BUCKET, ENV, Serve, http, s3_client  # noqa: E402

CONTROL = "control/"


class SharingAgainstGarage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = Path(cls.tmp.name)
        subprocess.run([BIN, "keygen", "-o", str(cls.dir / "root.key")], check=True, capture_output=True)
        subprocess.run([BIN, "keygen", "-o", str(cls.dir / "other.key")], check=True, capture_output=True)
        # A sweeps every second; B never does (it removes what it is asked
        # for once expired). Both front the same bucket.
        cls.a = Serve({"S3SEAL_SWEEP_SECS": "1"})
        cls.b = Serve({"S3SEAL_SWEEP_SECS": "0"})
        cls.s3 = s3_client()
        cls.prefix = json.loads(http("GET", f"{cls.a.url}/api/config")[2])["prefix"]

    @classmethod
    def tearDownClass(cls):
        cls.a.stop()
        cls.b.stop()
        cls.tmp.cleanup()

    def push(self, serve, *args, key="root.key"):
        (self.dir / "in.bin").write_bytes(os.urandom(2000))
        out = subprocess.run([BIN, "push", "--quiet", "--state-dir", str(self.dir / "state"), "--key-file", str(self.dir / key),
                              "--presign", f"{serve.url}/api/presign", *args, str(self.dir / "in.bin")],
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout.strip()

    def sse_c(self, name):
        h = json.loads(subprocess.run([BIN, "sse-c", name, "--json", "--key-file", str(self.dir / "root.key")],
                                      check=True, capture_output=True, text=True).stdout)
        return {"algorithm": "AES256", "key": h["x-amz-server-side-encryption-customer-key"],
                "keyMd5": h["x-amz-server-side-encryption-customer-key-MD5"]}

    def get(self, serve, name, op="get"):
        return serve.presign(op=op, object=name, sseC=self.sse_c(name))

    def count(self, prefix):
        return self.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("KeyCount", 0)

    def record(self, name):
        body = self.s3.get_object(Bucket=BUCKET, Key=f"{CONTROL}share/{name}.json")["Body"].read()
        return json.loads(body)

    def wait_gone(self, name, seconds=10):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.count(self.prefix + name):
            time.sleep(0.25)
        return self.count(self.prefix + name) == 0

    def test_push_records_its_terms_and_an_expired_share_is_refused_then_removed(self):
        name = self.push(self.b, "--expires", "3s", "--downloads", "5")
        record = self.record(name)
        self.assertEqual(record["downloads"], 5)
        self.assertLessEqual(abs(record["expiresAt"] - (time.time() + 3)), 5)
        self.assertRegex(record["deleteHash"], r"^[0-9a-f]{64}$")
        self.assertNotIn("s3seal-", json.dumps(record), "no key or token is kept, only a hash")
        status, body = self.get(self.b, name)
        self.assertEqual(status, 200, body)
        time.sleep(max(0, record["expiresAt"] - time.time()) + 0.5)
        status, body = self.get(self.b, name)
        # B refuses with the expiry's own code unless A's sweep came first.
        self.assertEqual(status, 410, body)
        self.assertIn(body["error"]["code"], ("ShareExpired", "ShareGone"))
        self.assertTrue(self.wait_gone(name), "the object is deleted")
        self.assertEqual(self.count(f"{CONTROL}share/{name}"), 0)
        self.assertEqual(self.count(f"{CONTROL}claim/{name}/"), 0)
        self.assertEqual(
            [k["Key"] for k in self.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{CONTROL}expiry/").get("Contents", []) if k["Key"].endswith(name)],
            [], "no expiry entry is left")

    def test_a_limit_holds_across_replicas_and_under_concurrent_claims(self):
        name = self.push(self.a, "--downloads", "3")
        self.assertEqual(self.get(self.a, name, op="head")[0], 200, "a HEAD reads no content and takes no download")
        serves = [self.a, self.b] * 6
        with ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(pool.map(lambda s: self.get(s, name), serves))
        granted = [a for a in answers if a[0] == 200]
        refused = [a for a in answers if a[0] != 200]
        self.assertLessEqual(len(granted), 3, "never more downloads than the limit")
        self.assertGreaterEqual(len(granted), 1)
        for status, body in refused:
            self.assertEqual((status, body["error"]["code"]), (410, "DownloadLimit"), body)
        self.assertEqual(self.count(f"{CONTROL}claim/{name}/"), len(granted), "refused claims are removed again")

    def test_a_link_holder_cannot_rewrite_a_stored_share_record(self):
        # The attack: a link holder knows the name and the SSE-C key. Before
        # a CreateMultipart needed a free key, serve rewrote the record on
        # it, so the holder could lift the limit and extend the expiry.
        name = self.push(self.a, "--expires", "60s", "--downloads", "1")
        before = self.record(name)
        for op in ("createMultipart", "put"):
            status, body = self.a.presign(op=op, object=name, sseC=self.sse_c(name), size=10 << 20,
                                          share={"expiresSecs": 2592000})
            self.assertEqual((status, body["error"]["code"]), (409, "ObjectExists"), (op, body))
        self.assertEqual(self.record(name), before, "the record is unchanged")
        status, body = self.b.presign(op="get", object=name, sseC=self.sse_c(name), share={"downloads": 100})
        self.assertEqual(status, 403, body)
        self.assertIn("first write", body["error"]["message"])
        status, body = self.a.presign(op="put", object="ab" * 16 + ".s3seal", sseC=self.sse_c(name), size=10,
                                      share={"expiresSecs": 31 * 86400})
        self.assertEqual(status, 403, body)
        self.assertIn("longest expiry", body["error"]["message"])

    def test_only_the_owner_deletes_and_through_either_replica(self):
        link = self.push(self.a, "--link", f"{self.a.url}/")
        name = link.split("#", 1)[1][:39]
        file_key = link.split(".s3seal.", 1)[1]
        (self.dir / "file.key").write_text(file_key + "\n")
        delete = lambda key, serve: subprocess.run(  # noqa: E731
            [BIN, "delete", "--presign", f"{serve.url}/api/presign", "--key-file", str(self.dir / key), link],
            capture_output=True, text=True, timeout=60)
        by_link = delete("file.key", self.b)
        self.assertNotEqual(by_link.returncode, 0)
        self.assertIn("owner's root key or passphrase", by_link.stderr)
        by_other = delete("other.key", self.b)
        self.assertNotEqual(by_other.returncode, 0)
        self.assertIn("this token does not delete this share", by_other.stderr)
        status, _, body = http("POST", f"{self.b.url}/api/delete", json.dumps({"object": name, "deleteToken": "s3seal-file-" + "A" * 43}).encode(),
                               {"content-type": "application/json"})
        self.assertEqual(status, 403, body)
        self.assertEqual(self.count(self.prefix + name), 1, "still shared")
        by_owner = delete("root.key", self.b)
        self.assertEqual(by_owner.returncode, 0, by_owner.stderr)
        self.assertEqual(by_owner.stdout.strip(), f"deleted {name}")
        self.assertEqual(self.count(self.prefix + name), 0)
        self.assertEqual(self.count(f"{CONTROL}share/{name}"), 0)
        status, body = self.get(self.a, name)
        self.assertEqual((status, body["error"]["code"]), (410, "ShareGone"), body)
        again = delete("root.key", self.a)
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("ShareGone", again.stderr)

    def test_the_demo_bucket_has_lifecycle_rules_behind_the_sweeper(self):
        rules = self.s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
        covered = {r["Filter"]["Prefix"]: r for r in rules if r["Status"] == "Enabled"}
        for prefix in (self.prefix, CONTROL):
            self.assertLessEqual(covered[prefix]["Expiration"]["Days"], 31, prefix)
        self.assertEqual(covered[self.prefix]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"], 1)

    def test_the_delete_token_never_reaches_a_log(self):
        name = self.push(self.a)
        out = subprocess.run([BIN, "delete", "--presign", f"{self.b.url}/api/presign", "--key-file", str(self.dir / "root.key"), name],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        serve = Serve({"S3SEAL_SWEEP_SECS": "0"})
        try:
            name = self.push(serve)
            subprocess.run([BIN, "delete", "--presign", f"{serve.url}/api/presign", "--key-file", str(self.dir / "root.key"), name],
                           check=True, capture_output=True, timeout=60)
        finally:
            log = serve.stop()
        self.assertIn(f"delete {name} -> ok", log)
        self.assertNotIn("s3seal-delete-", log)


if __name__ == "__main__":
    unittest.main()
