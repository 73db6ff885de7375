"""Interop: s3seal objects open with Google Tink (Python) and an independent
implementation of docs/FORMAT.md, and objects Tink seals open with the CLI.

Run: python3 -m unittest discover -s tests/interop -v   (S3SEAL_BIN = the CLI)
"""

import json
import os
import subprocess
import tempfile
import unittest
from pathlib import Path

import s3seal_spec as spec

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors"
BIN = os.environ.get("S3SEAL_BIN", str(ROOT / "target" / "debug" / "s3seal"))


def pattern(n: int) -> bytes:
    return bytes((31 * i + 7) % 256 for i in range(n))


class CheckedInVectors(unittest.TestCase):
    def test_positive_vectors_open_with_tink(self):
        cases = json.loads((VECTORS / "index.json").read_text())
        opened = 0
        for case in cases:
            data = (VECTORS / case["file"]).read_bytes()
            with self.subTest(case["name"]):
                if case["expect"] == "ok":
                    name, _, size, plain = spec.open_object(data, case.get("key"), case.get("passphrase"), case.get("object_name"))
                    self.assertEqual(plain, pattern(case["plaintext_len"]))
                    self.assertEqual(size, case["plaintext_len"])
                    self.assertEqual(name, f"vector-{case['plaintext_len']}.bin")
                    opened += 1
                else:
                    with self.assertRaises(Exception) as failure:
                        spec.open_object(data, case.get("key"), case.get("passphrase"), case.get("object_name"))
                    # Where the spec names the error, the independent reader agrees.
                    if case["expect"] in ("WrongKey", "KeySource", "NameMismatch"):
                        self.assertEqual(str(failure.exception), case["expect"])
        self.assertGreaterEqual(opened, 8)


class SpecDocument(unittest.TestCase):
    def test_worked_example_in_format_md_is_the_vector(self):
        text = (ROOT / "docs" / "FORMAT.md").read_text()
        block = text.split("<!-- worked-example:one_byte -->", 1)[1].split("```")[1]
        self.assertEqual(bytes.fromhex("".join(block.split())), (VECTORS / "one_byte.s3seal").read_bytes())
        name, media_type, size, plain = spec.open_object(bytes.fromhex("".join(block.split())),
                                                         "s3seal-root-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")
        self.assertEqual((name, media_type, size, plain), ("vector-1.bin", "application/octet-stream", 1, b"\x07"))


    def test_recipient_worked_example_matches_the_vector_and_pyhpke(self):
        text = (ROOT / "docs" / "FORMAT.md").read_text()
        block = text.split("### 8.1 Worked example, recipient mode", 1)[1].split("```")[1]
        facts = {}
        for line in block.strip().splitlines():
            key, value = line[:14].strip(), line[14:].strip()
            facts[key] = value
        data = (VECTORS / "recipient_one_byte.s3seal").read_bytes()
        object_id, enc = spec.parse_object_name(facts["object name"])
        self.assertEqual(enc.hex(), facts["enc"])
        # The ephemeral key is DeriveKeyPair(7d x 32), as pyhpke computes it.
        pair = spec.HPKE.kem.derive_key_pair(bytes([0x7D]) * 32)
        self.assertEqual(pair.public_key.to_public_bytes(), enc)
        file_key = spec.file_key_from_identity(facts["identity"], object_id, enc)
        self.assertEqual(file_key.hex(), facts["file key"])
        self.assertEqual(spec.subkey(file_key, b"s3seal/v1 sse-c").hex(), facts["SSE-C key"])
        self.assertEqual(spec.sse_c_headers(file_key)["x-amz-server-side-encryption-customer-key"], facts["key header"])
        self.assertEqual(spec.Preamble(data).commitment.hex(), facts["commitment"])
        self.assertEqual(spec.bech32_key(facts["recipient"], "s3seal").hex(), facts["pkR"])
        _, _, _, plain = spec.open_object(data, facts["identity"], object_name=facts["object name"])
        self.assertEqual(plain, b"\x07")


class FreshObjects(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.tmp = Path(self.dir.name)
        subprocess.run([BIN, "keygen", "-o", str(self.tmp / "root.key")], check=True, capture_output=True)
        self.key = (self.tmp / "root.key").read_text().strip()

    def tearDown(self):
        self.dir.cleanup()

    def test_cli_sealed_objects_open_with_tink(self):
        for size in [0, 1, 262_088, 262_089, 3 * 262_144 + 17]:
            with self.subTest(size=size):
                plain = os.urandom(size)
                src = self.tmp / "in.dat"
                src.write_bytes(plain)
                out = self.tmp / f"{size}.s3seal"
                subprocess.run([BIN, "seal", str(src), "-o", str(out), "--key-file", str(self.tmp / "root.key"), "--type", "x/y"],
                               check=True, capture_output=True)
                name, media_type, got_size, got = spec.open_object(out.read_bytes(), self.key)
                self.assertEqual((name, media_type, got_size), ("in.dat", "x/y", size))
                self.assertEqual(got, plain)

    def test_cli_sse_c_headers_match_the_spec(self):
        object_id = bytes(range(16))
        name = object_id.hex() + ".s3seal"
        res = subprocess.run([BIN, "sse-c", name, "--json", "--key-file", str(self.tmp / "root.key")],
                             check=True, capture_output=True, text=True)
        root = spec.b64url_key(self.key, "s3seal-root-")
        self.assertEqual(json.loads(res.stdout), spec.sse_c_headers(spec.file_key_from_root(root, object_id)))

    def test_tink_sealed_objects_open_with_the_cli(self):
        root = spec.b64url_key(self.key, "s3seal-root-")
        for size in [0, 5, 262_088, 700_001]:
            with self.subTest(size=size):
                plain = os.urandom(size)
                obj = spec.seal_object(root, os.urandom(16), "from-tink.bin", "application/x-test", plain)
                (self.tmp / "t.s3seal").write_bytes(obj)
                out = self.tmp / "t.out"
                subprocess.run([BIN, "open", str(self.tmp / "t.s3seal"), "-o", str(out), "--force",
                                "--key-file", str(self.tmp / "root.key")], check=True, capture_output=True)
                self.assertEqual(out.read_bytes(), plain)


class RecipientMode(unittest.TestCase):
    """Recipient mode against pyhpke: both directions, names and SSE-C keys."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.tmp = Path(self.dir.name)
        self.id_file = self.tmp / "org.identity"
        res = subprocess.run([BIN, "keygen", "--identity", "-o", str(self.id_file)], check=True, capture_output=True, text=True)
        self.public = res.stdout.strip()
        lines = self.id_file.read_text().splitlines()
        self.identity = next(l for l in lines if l and not l.startswith("#"))
        self.header = [l for l in lines if l.startswith("#")]

    def tearDown(self):
        self.dir.cleanup()

    def test_identity_file_is_private_and_says_what_it_is(self):
        self.assertEqual(self.id_file.stat().st_mode & 0o777, 0o600)
        self.assertIn("s3seal identity", self.header[0])
        self.assertIn(f"# public key: {self.public}", self.header)
        self.assertTrue(self.public.startswith("s3seal1") and self.identity.startswith("S3SEAL-SECRET-KEY-1"))
        # The public key printed is the identity's (`cryptography` derives it).
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
        sk = X25519PrivateKey.from_private_bytes(spec.bech32_key(self.identity, "s3seal-secret-key-"))
        self.assertEqual(sk.public_key().public_bytes_raw(), spec.bech32_key(self.public, "s3seal"))

    def test_cli_sealed_to_a_recipient_opens_with_pyhpke_and_tink(self):
        for size in [0, 262_089, 700_001]:
            with self.subTest(size=size):
                plain = os.urandom(size)
                src = self.tmp / "scan.pdf"
                src.write_bytes(plain)
                out = self.tmp / f"{size}.s3seal"
                res = subprocess.run([BIN, "seal", str(src), "-o", str(out), "--recipient", self.public],
                                     check=True, capture_output=True, text=True)
                object_name = res.stdout.strip()
                name, media_type, got_size, got = spec.open_object(out.read_bytes(), self.identity, object_name=object_name)
                self.assertEqual((name, media_type, got_size, got), ("scan.pdf", "application/pdf", size, plain))
                # The SSE-C key comes from the name alone, as a reader needs it.
                object_id, enc = spec.parse_object_name(object_name)
                res = subprocess.run([BIN, "sse-c", object_name, "--json", "--identity", str(self.id_file)],
                                     check=True, capture_output=True, text=True)
                self.assertEqual(json.loads(res.stdout), spec.sse_c_headers(spec.file_key_from_identity(self.identity, object_id, enc)))

    def test_pyhpke_sealed_objects_open_with_the_cli_identity(self):
        plain = os.urandom(300_000)
        name, obj = spec.seal_to_recipient(self.public, os.urandom(16), "contract.txt", "text/plain", plain)
        (self.tmp / name).write_bytes(obj)
        out = self.tmp / "contract.out"
        subprocess.run([BIN, "open", str(self.tmp / name), "-o", str(out), "--identity", str(self.id_file)],
                       check=True, capture_output=True)
        self.assertEqual(out.read_bytes(), plain)
        # Another identity: WrongKey (exit 3), and nothing written.
        other = self.tmp / "other.identity"
        subprocess.run([BIN, "keygen", "--identity", "-o", str(other)], check=True, capture_output=True)
        res = subprocess.run([BIN, "open", str(self.tmp / name), "-o", str(self.tmp / "x.out"), "--identity", str(other)],
                             capture_output=True, text=True)
        self.assertEqual(res.returncode, 3, res.stderr)
        self.assertIn("wrong key", res.stderr)
        self.assertFalse((self.tmp / "x.out").exists())


if __name__ == "__main__":
    unittest.main()
