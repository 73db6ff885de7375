"""Issue 20: sharing state kept in the bucket by `s3seal serve` (expiry,
download limits, the owner's delete), against a real S3 (local Garage),
with two serve replicas in front of one bucket, `s3seal push --expires
--downloads` and `s3seal delete`. boto3 reads what is really stored.

Everything listens on 127.0.0.1; serve processes are stopped by PID; the
concurrent test sends a fixed number of requests.
"""

import json
import os
import re
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
        """Whether the share is removed within `seconds`: its object deleted
        and its record a tombstone (written after the object is deleted)."""
        deadline = time.monotonic() + seconds
        removed = lambda: self.count(self.prefix + name) == 0 and self.record(name).get("gone")  # noqa: E731
        while time.monotonic() < deadline and not removed():
            time.sleep(0.25)
        return bool(removed())

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
        self.assertTrue(self.record(name)["gone"], "its record is a tombstone")
        self.assertEqual(self.count(f"{CONTROL}claim/{name}/"), 0)
        self.assertEqual(
            [k["Key"] for k in self.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{CONTROL}expiry/").get("Contents", []) if k["Key"].endswith(name)],
            [], "no expiry entry is left")

    def test_a_limit_holds_across_replicas_and_under_concurrent_claims(self):
        # Twelve GETs at once through six replicas (within one, claims take
        # turns; across them they race), for a limit of three: exactly three
        # are granted. When every racing claim saw more than the limit and
        # refused itself, a round could grant none (CI saw 0 of 3).
        extra = [Serve({"S3SEAL_SWEEP_SECS": "0"}) for _ in range(4)]
        try:
            for downloads in (3, 1, 5):
                name = self.push(self.a, "--downloads", str(downloads))
                self.assertEqual(self.get(self.a, name, op="head")[0], 200,
                                 "a HEAD reads no content and takes no download")
                serves = [self.a, self.b, *extra] * 2
                with ThreadPoolExecutor(max_workers=12) as pool:
                    answers = list(pool.map(lambda s: self.get(s, name), serves))
                granted = [a for a in answers if a[0] == 200]
                refused = [a for a in answers if a[0] != 200]
                self.assertEqual(len(granted), downloads, ("all of the limit and never more", answers))
                for status, body in refused:
                    self.assertEqual((status, body["error"]["code"]), (410, "DownloadLimit"), body)
                self.assertEqual(self.count(f"{CONTROL}claim/{name}/"), downloads, "refused claims are removed again")
        finally:
            for serve in extra:
                serve.stop()

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
        self.assertEqual(self.record(name), {"v": 1, "expiresAt": self.record(name)["expiresAt"], "gone": True},
                         "a tombstone keeps no hash and no limit")
        status, body = self.get(self.a, name)
        self.assertEqual((status, body["error"]["code"]), (410, "ShareGone"), body)
        again = delete("root.key", self.a)
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("ShareGone", again.stderr)

    def sealed(self, key="root.key"):
        (self.dir / "one.bin").write_bytes(os.urandom(1000))
        out = subprocess.run([BIN, "seal", str(self.dir / "one.bin"), "-o", str(self.dir / "one.s3seal"), "--force",
                              "--key-file", str(self.dir / key)], check=True, capture_output=True, text=True).stdout.split()
        return out[0], (self.dir / "one.s3seal").read_bytes()

    def put(self, url_answer, body):
        p = url_answer
        status, _, text = http(p["method"], p["url"], body, p["headers"])
        return status, text

    def test_a_write_url_used_after_the_share_ended_is_never_served(self):
        # The attack: presign a PUT with a 2 s expiry, let the share end
        # (a HEAD, the sweeper or a delete removes it), then use the PUT URL,
        # still valid for minutes. Before tombstones and a fail-closed
        # gate, the object landed with no record and was served forever.
        name, body = self.sealed()
        status, url = self.b.presign(op="put", object=name, sseC=self.sse_c(name), size=len(body), share={"expiresSecs": 2})
        self.assertEqual(status, 200, url)
        time.sleep(2.5)
        status, answer = self.get(self.b, name, op="head")
        # The expiry's own code, or "gone" if A's sweep came first.
        self.assertEqual(status, 410, answer)
        self.assertIn(answer["error"]["code"], ("ShareExpired", "ShareGone"))
        self.assertTrue(self.wait_gone(name), "removed: a tombstone")
        self.assertEqual(self.put(url, body)[0], 200, "S3 takes the late write")
        for serve in (self.a, self.b):
            status, answer = self.get(serve, name)
            self.assertEqual((status, answer["error"]["code"]), (410, "ShareGone"), answer)
        # Nor can the name be shared again (a link holder re-uploading it).
        self.s3.delete_object(Bucket=BUCKET, Key=self.prefix + name)
        status, answer = self.a.presign(op="put", object=name, sseC=self.sse_c(name), size=len(body))
        self.assertEqual((status, answer["error"]["code"]), (410, "ShareGone"), answer)

    def test_a_name_without_the_key_spends_no_download(self):
        name = self.push(self.a, "--downloads", "1")
        other_name, _ = self.sealed("other.key")
        h = json.loads(subprocess.run([BIN, "sse-c", other_name, "--json", "--key-file", str(self.dir / "other.key")],
                                      check=True, capture_output=True, text=True).stdout)
        wrong = {"algorithm": "AES256", "key": h["x-amz-server-side-encryption-customer-key"],
                 "keyMd5": h["x-amz-server-side-encryption-customer-key-MD5"]}
        for _ in range(3):
            status, answer = self.a.presign(op="get", object=name, sseC=wrong)
            self.assertEqual((status, answer["error"]["code"]), (403, "WrongKey"), answer)
        self.assertEqual(self.count(f"{CONTROL}claim/{name}/"), 0, "nothing was counted")
        self.assertEqual(self.get(self.b, name)[0], 200, "the one download is still there")
        self.assertEqual(self.get(self.a, name)[0], 410)

    def test_an_object_without_a_record_is_not_served_unless_allowed(self):
        name, body = self.sealed()
        raw = __import__("base64").b64decode(self.sse_c(name)["key"])
        self.s3.put_object(Bucket=BUCKET, Key=self.prefix + name, Body=body, SSECustomerAlgorithm="AES256", SSECustomerKey=raw)
        status, answer = self.get(self.a, name)
        self.assertEqual((status, answer["error"]["code"]), (410, "ShareGone"), answer)
        legacy = Serve({"S3SEAL_SWEEP_SECS": "0", "S3SEAL_ALLOW_UNRECORDED": "true"})
        try:
            self.assertEqual(self.get(legacy, name)[0], 200)
        finally:
            legacy.stop()

    def test_a_get_url_dies_with_its_share(self):
        name = self.push(self.a, "--expires", "20s")
        status, answer = self.get(self.a, name)
        self.assertEqual(status, 200, answer)
        expires = int(re.search(r"X-Amz-Expires=(\d+)", answer["url"]).group(1))
        self.assertLessEqual(expires, 20, "not the configured 300 s")

    def test_push_manifest_then_pull_link_brings_back_the_folder(self):
        src = self.dir / "src"
        files = {"top.txt": os.urandom(300), "docs/a.bin": os.urandom(6 << 20), "docs/deep/b.txt": os.urandom(10)}
        for rel, data in files.items():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            (src / rel).write_bytes(data)
        out = subprocess.run([BIN, "push", "--quiet", "--state-dir", str(self.dir / "state"), "--key-file", str(self.dir / "root.key"),
                              "--presign", f"{self.a.url}/api/presign", "--link", f"{self.a.url}/", "--manifest", "--expires", "1h",
                              *files.keys()], cwd=src, capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        link = out.stdout.strip()
        self.assertEqual(len(link.splitlines()), 1, "one link for all")
        dest = self.dir / "pulled"
        on_argv = subprocess.run([BIN, "pull", "--link", link, "-o", str(dest)], capture_output=True, text=True, timeout=60)
        self.assertNotEqual(on_argv.returncode, 0, "a key on the command line is refused")
        self.assertIn("--link-file", on_argv.stderr)
        (self.dir / "link.txt").write_text(link + "\n")
        got = subprocess.run([BIN, "pull", "--link-file", str(self.dir / "link.txt"), "-o", str(dest)], capture_output=True, text=True, timeout=120)
        self.assertEqual(got.returncode, 0, got.stderr)
        root = dest / link.split("#", 1)[1][:32]
        for rel, data in files.items():
            self.assertEqual((root / rel).read_bytes(), data, rel)
        self.assertIn("3 of 3 listed files pulled", got.stderr)
        self.assertEqual(sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()), sorted(files),
                         "nothing else is left (no staging folder, no list)")
        again = subprocess.run([BIN, "pull", "--link-file", "-", "-o", str(dest)], input=link, capture_output=True, text=True, timeout=120)
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("exists; not pulling into it again", again.stderr)
        # One file's link pulls that file, the link from standard input.
        single = self.push(self.a, "--link", f"{self.a.url}/")
        one = subprocess.run([BIN, "pull", "--link-file", "-", "-o", str(self.dir / "one")], input=single, capture_output=True, text=True, timeout=120)
        self.assertEqual(one.returncode, 0, one.stderr)
        self.assertEqual((self.dir / "one" / single.split("#", 1)[1][:32] / "in.bin").read_bytes(), (self.dir / "in.bin").read_bytes())
        # A token goes only to a backend named on the command line.
        (self.dir / "token").write_text("t" * 40)
        bad = subprocess.run([BIN, "pull", "--link-file", "-", "--token-file", str(self.dir / "token")], input=single, capture_output=True, text=True, timeout=60)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("--presign", bad.stderr)

    def test_push_manifest_refuses_paths_a_receiver_could_not_write_before_sending(self):
        (self.dir / ".bashrc").write_text("x")
        out = subprocess.run([BIN, "push", "--quiet", "--state-dir", str(self.dir / "state"), "--key-file", str(self.dir / "root.key"),
                              "--presign", f"{self.a.url}/api/presign", "--manifest", ".bashrc"],
                             cwd=self.dir, capture_output=True, text=True, timeout=60)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("cannot be listed", out.stderr)
        self.assertNotIn("pushed", out.stderr, "nothing went up")

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
