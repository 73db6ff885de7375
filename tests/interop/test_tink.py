"""Interop: s3seal objects open with Google Tink (Python) and an independent
implementation of docs/FORMAT.md, and objects Tink seals open with the CLI.

Run: python3 -m unittest discover -s tests/interop -v   (S3SEAL_BIN = the CLI)
"""

import io
import base64
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


def file_key_for(case, preamble):
    """The file key a case's key opens its vector with (§3), for the Tink check."""
    if case.get("passphrase") is not None:
        root = spec.root_from_passphrase(case["passphrase"], preamble.object_id)
        return spec.file_key_from_root(root, preamble.object_id)
    kind, key = spec.parse_key_text(case["key"])
    if kind == "root":
        return spec.file_key_from_root(key, preamble.object_id)
    if kind == "file":
        return key
    return spec.file_key_from_identity(case["key"], preamble.object_id, preamble.enc)


class CheckedInVectors(unittest.TestCase):
    def test_every_vector_opens_or_is_refused_with_the_exact_code(self):
        cases = json.loads((VECTORS / "index.json").read_text())
        opened = refused = 0
        for case in cases:
            data = (VECTORS / case["file"]).read_bytes()
            with self.subTest(case["name"]):
                args = (data, case.get("key"), case.get("passphrase"), case.get("object_name"))
                if case["expect"] == "ok":
                    name, media_type, size, plain = spec.open_object(*args)
                    self.assertEqual(plain, pattern(case["plaintext_len"]))
                    self.assertEqual((name, media_type, size),
                                     (case["file_name"], case["media_type"], case["plaintext_len"]))
                    opened += 1
                else:
                    # Exactly the code: any other exception (a struct.error, an
                    # IndexError) is a failure of the reader, not a refusal.
                    with self.assertRaises(spec.SpecError) as failure:
                        spec.open_object(*args)
                    self.assertEqual(str(failure.exception), case["expect"])
                    refused += 1
        self.assertGreaterEqual(opened, 12)
        self.assertGreaterEqual(refused, 40)

    def test_tink_opens_every_positive_payload(self):
        """The payload is Tink's: everything between the preamble and the
        signature, with the preamble as associated data."""
        checked = 0
        for case in json.loads((VECTORS / "index.json").read_text()):
            if case["expect"] != "ok":
                continue
            with self.subTest(case["name"]):
                data = (VECTORS / case["file"]).read_bytes()
                preamble = spec.Preamble(data)
                payload_key = spec.subkey(file_key_for(case, preamble), b"s3seal/v1 payload")
                payload = io.BytesIO(data[preamble.length : len(data) - 64])
                with spec.tink_primitive(payload_key).new_decrypting_stream(payload, preamble.raw) as stream:
                    self.assertEqual(stream.read(), pattern(case["plaintext_len"]))
                checked += 1
        self.assertGreaterEqual(checked, 12)

    def test_tink_would_accept_what_the_format_refuses_only_by_rule(self):
        """payload_empty_final_segment is authentic Tink ciphertext; s3seal
        refuses it by §5.1's rule (one encoding per plaintext), not because
        it fails to decrypt."""
        data = (VECTORS / "payload_empty_final_segment.s3seal").read_bytes()
        preamble = spec.Preamble(data)
        root = spec.b64url_key("s3seal-root-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "s3seal-root-")
        payload_key = spec.subkey(spec.file_key_from_root(root, preamble.object_id), b"s3seal/v1 payload")
        payload = io.BytesIO(data[preamble.length : len(data) - 64])
        with spec.tink_primitive(payload_key).new_decrypting_stream(payload, preamble.raw) as stream:
            self.assertEqual(len(stream.read()), 262_088)
        with self.assertRaises(spec.SpecError) as failure:
            spec.open_object(data, "s3seal-root-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")
        self.assertEqual(str(failure.exception), "Corrupt")


class SpecDocument(unittest.TestCase):
    ROOT_KEY = "s3seal-root-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

    def facts(self, marker):
        block = (ROOT / "docs" / "FORMAT.md").read_text().split(marker, 1)[1].split("```")[1]
        return {line[:15].strip(): line[15:].strip() for line in block.strip().splitlines() if line[:15].strip()}

    def test_worked_example_in_format_md_is_the_vector_and_reseals_to_it(self):
        text = (ROOT / "docs" / "FORMAT.md").read_text()
        block = text.split("<!-- worked-example:one_byte -->", 1)[1].split("```")[1]
        data = bytes.fromhex("".join(block.split()))
        self.assertEqual(data, (VECTORS / "one_byte.s3seal").read_bytes())
        self.assertEqual(spec.open_object(data, self.ROOT_KEY), ("vector-1.bin", "application/octet-stream", 1, b"\x07"))
        # §8's inputs, sealed by the independent implementation, give the same bytes.
        facts = self.facts("<!-- worked-values:one_byte -->")
        name, again = spec.seal_object(bytes(range(32)), "vector-1.bin", "application/octet-stream", b"\x07",
                                       bytes.fromhex(facts["signing salt"]), payload_salt=bytes([0x58]) * 32,
                                       nonce_prefix=bytes([0xA7]) * 7, metadata_nonce=bytes([0x3E]) * 12)
        self.assertEqual(again, data)
        self.assertEqual(name, facts["object id"] + ".s3seal")
        file_key = spec.file_key_from_root(bytes(range(32)), bytes.fromhex(facts["object id"]))
        self.assertEqual(file_key.hex(), facts["file key"])
        self.assertEqual(spec.sse_c_headers(file_key)["x-amz-server-side-encryption-customer-key"], facts["key header"])

    def test_recipient_worked_example_matches_the_vector_and_pyhpke(self):
        facts = self.facts("<!-- worked-values:recipient_one_byte -->")
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
        self.assertEqual(spec.bech32_key(facts["recipient"], "s3seal").hex(), facts["pkR"] if "pkR" in facts else
                         spec.bech32_key(spec.recipient_of(facts["identity"]), "s3seal").hex())
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

    def test_spec_sealed_objects_open_with_the_cli(self):
        root = spec.b64url_key(self.key, "s3seal-root-")
        for size in [0, 5, 262_088, 700_001]:
            with self.subTest(size=size):
                plain = os.urandom(size)
                name, obj = spec.seal_object(root, "from-spec.bin", "application/x-test", plain)
                (self.tmp / name).write_bytes(obj)
                out = self.tmp / "t.out"
                subprocess.run([BIN, "open", str(self.tmp / name), "-o", str(out), "--force",
                                "--key-file", str(self.tmp / "root.key")], check=True, capture_output=True)
                self.assertEqual(out.read_bytes(), plain)

    def test_passphrase_objects_cross_both_ways(self):
        passphrase = "correct horse battery staple rivet quasar"
        env = dict(os.environ, PASS=passphrase)
        plain = os.urandom(300_000)
        name, obj = spec.seal_with_passphrase(passphrase, "p.bin", "application/x-test", plain)
        (self.tmp / name).write_bytes(obj)
        out = subprocess.run([BIN, "open", str(self.tmp / name), "-o", "-", "--passphrase-env", "PASS"],
                             check=True, capture_output=True, env=env).stdout
        self.assertEqual(out, plain)
        (self.tmp / "p.in").write_bytes(plain)
        sealed = self.tmp / "cli.s3seal"
        subprocess.run([BIN, "seal", str(self.tmp / "p.in"), "-o", str(sealed), "--passphrase-env", "PASS"],
                       check=True, capture_output=True, env=env)
        self.assertEqual(spec.open_object(sealed.read_bytes(), passphrase=passphrase)[3], plain)

    def test_a_file_key_forgery_is_refused_by_the_cli(self):
        """A link holder seals other content with the file key under the
        original's id and verifying key (all the spec allows without the
        signing key); the CLI refuses it by name with the share key."""
        root = spec.b64url_key(self.key, "s3seal-root-")
        name, obj = spec.seal_object(root, "orig.txt", "text/plain", b"the real contract")
        object_id, _ = spec.parse_object_name(name)
        file_key = spec.file_key_from_root(root, object_id)
        (self.tmp / "share.key").write_text("s3seal-file-" + base64.urlsafe_b64encode(file_key).decode().rstrip("=") + "\n")
        # Same length keeps the preamble (and its sealed size) as it was.
        forged = spec.forge_one_segment(obj, file_key, b"FORGED: pay 100000 EUR"[: len(b"the real contract")])
        (self.tmp / name).write_bytes(forged)
        res = subprocess.run([BIN, "open", str(self.tmp / name), "-o", "-", "--key-file", str(self.tmp / "share.key"),
                              "--object-name", name],
                             capture_output=True, text=True)
        self.assertEqual(res.returncode, 4, res.stderr)
        self.assertIn("forged", res.stderr)
        self.assertEqual(res.stdout, "", "no byte of the forgery is written")


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
        name, obj = spec.seal_to_recipient(self.public, "contract.txt", "text/plain", plain)
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
