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
                    name, _, size, plain = spec.open_object(data, case.get("key"), case.get("passphrase"))
                    self.assertEqual(plain, pattern(case["plaintext_len"]))
                    self.assertEqual(size, case["plaintext_len"])
                    self.assertEqual(name, f"vector-{case['plaintext_len']}.bin")
                    opened += 1
                else:
                    with self.assertRaises(Exception):
                        spec.open_object(data, case.get("key"), case.get("passphrase"))
        self.assertGreaterEqual(opened, 8)


class SpecDocument(unittest.TestCase):
    def test_worked_example_in_format_md_is_the_vector(self):
        text = (ROOT / "docs" / "FORMAT.md").read_text()
        block = text.split("<!-- worked-example:one_byte -->", 1)[1].split("```")[1]
        self.assertEqual(bytes.fromhex("".join(block.split())), (VECTORS / "one_byte.s3seal").read_bytes())
        name, media_type, size, plain = spec.open_object(bytes.fromhex("".join(block.split())),
                                                         "s3seal-root-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")
        self.assertEqual((name, media_type, size, plain), ("vector-1.bin", "application/octet-stream", 1, b"\x07"))


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


if __name__ == "__main__":
    unittest.main()
