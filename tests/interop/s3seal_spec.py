"""An independent implementation of docs/FORMAT.md, written from the spec.

It uses Google Tink for the payload, `cryptography` for HKDF and the metadata
box, argon2-cffi for passphrases, pyhpke (RFC 9180) and the Bech32 reference
code for recipient mode; nothing here comes from the Rust crate.
"""

import hashlib
import hmac
import io
import struct
import base64

import tink
from tink import secret_key_access
from tink import streaming_aead
from tink.proto import aes_gcm_hkdf_streaming_pb2, common_pb2, tink_pb2
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
import argon2.low_level
import bech32
from pyhpke import AEADId, CipherSuite, KDFId, KEMId

streaming_aead.register()

MAGIC = b"S3SEAL"
SEGMENT_SIZE = 256 * 1024
SOURCE_ROOT = 0x01
SOURCE_PASSPHRASE = 0x02
SOURCE_RECIPIENT = 0x03
HPKE = CipherSuite.new(KEMId.DHKEM_X25519_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.EXPORT_ONLY)
ARGON2 = dict(memory_cost=64 * 1024, time_cost=3, parallelism=1)


def hkdf_sha256(ikm: bytes, salt: bytes | None, info: bytes, length: int = 32) -> bytes:
    """RFC 5869, written out so the test does not share code with the crate."""
    prk = hmac.new(salt if salt else bytes(32), ikm, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def b64url_key(text: str, prefix: str) -> bytes:
    body = text.strip()[len(prefix):]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def root_from_passphrase(passphrase: str, object_id: bytes) -> bytes:
    return argon2.low_level.hash_secret_raw(
        passphrase.encode(), object_id, hash_len=32, type=argon2.low_level.Type.ID, version=19, **ARGON2
    )


def file_key_from_root(root: bytes, object_id: bytes) -> bytes:
    return hkdf_sha256(root, object_id, b"s3seal/v1 file")


def subkey(file_key: bytes, label: bytes) -> bytes:
    return hkdf_sha256(file_key, None, label)


def sse_c_headers(file_key: bytes) -> dict:
    key = subkey(file_key, b"s3seal/v1 sse-c")
    return {
        "x-amz-server-side-encryption-customer-algorithm": "AES256",
        "x-amz-server-side-encryption-customer-key": base64.b64encode(key).decode(),
        "x-amz-server-side-encryption-customer-key-MD5": base64.b64encode(hashlib.md5(key).digest()).decode(),
    }


def tink_primitive(payload_key: bytes):
    key = aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingKey(
        version=0,
        key_value=payload_key,
        params=aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingParams(
            ciphertext_segment_size=SEGMENT_SIZE, derived_key_size=32, hkdf_hash_type=common_pb2.SHA256
        ),
    )
    keyset = tink_pb2.Keyset(
        primary_key_id=1,
        key=[
            tink_pb2.Keyset.Key(
                key_data=tink_pb2.KeyData(
                    type_url="type.googleapis.com/google.crypto.tink.AesGcmHkdfStreamingKey",
                    value=key.SerializeToString(),
                    key_material_type=tink_pb2.KeyData.SYMMETRIC,
                ),
                status=tink_pb2.ENABLED,
                key_id=1,
                output_prefix_type=tink_pb2.RAW,
            )
        ],
    )
    handle = tink.proto_keyset_format.parse(keyset.SerializeToString(), secret_key_access.TOKEN)
    return handle.primitive(streaming_aead.StreamingAead)


class Preamble:
    def __init__(self, data: bytes):
        if data[:6] != MAGIC:
            raise ValueError("NotSealed")
        if data[6] != 1:
            raise ValueError("UnsupportedVersion")
        self.object_id = data[8:24]
        self.commitment = data[24:56]
        (source_len,) = struct.unpack(">H", data[56:58])
        self.source = data[58 : 58 + source_len]
        at = 58 + source_len
        (box_len,) = struct.unpack(">H", data[at : at + 2])
        self.head = data[: at + 2]
        self.box = data[at + 2 : at + 2 + box_len]
        self.length = at + 2 + box_len
        self.raw = data[: self.length]


def bech32_key(text: str, hrp: str) -> bytes:
    got_hrp, data = bech32.bech32_decode(text.strip())
    if got_hrp != hrp or data is None:
        raise ValueError("InvalidKey")
    key = bytes(bech32.convertbits(data, 5, 8, False))
    if len(key) != 32:
        raise ValueError("InvalidKey")
    return key


def recipient_info(object_id: bytes) -> bytes:
    return b"s3seal/v1 recipient" + object_id


def file_key_from_identity(identity_text: str, object_id: bytes, enc: bytes) -> bytes:
    """Section 3, recipient mode: HPKE base mode, export-only, bound to the object id."""
    sk = HPKE.kem.deserialize_private_key(bech32_key(identity_text, "s3seal-secret-key-"))
    ctx = HPKE.create_recipient_context(enc, sk, info=recipient_info(object_id))
    return ctx.export(b"s3seal/v1 file", 32)


def parse_object_name(name: str) -> tuple[bytes, bytes | None]:
    """(object id, encapsulated key or None) from `…/<id hex>[.<enc hex>].s3seal`."""
    stem = name.rsplit("/", 1)[-1].removesuffix(".s3seal")
    parts = stem.split(".")
    if len(parts) == 1:
        return bytes.fromhex(parts[0]), None
    return bytes.fromhex(parts[0]), bytes.fromhex(parts[1])


def file_key_for(preamble: Preamble, key_text: str | None, passphrase: str | None) -> bytes:
    if key_text is not None and key_text.upper().startswith("S3SEAL-SECRET-KEY-1"):
        if preamble.source[:1] != bytes([SOURCE_RECIPIENT]) or len(preamble.source) != 33:
            raise ValueError("KeySource")
        return file_key_from_identity(key_text, preamble.object_id, preamble.source[1:])
    if passphrase is not None:
        if preamble.source != bytes([SOURCE_PASSPHRASE]) + struct.pack(">III", 64 * 1024, 3, 1):
            raise ValueError("KeySource")
        return file_key_from_root(root_from_passphrase(passphrase, preamble.object_id), preamble.object_id)
    if key_text.startswith("s3seal-root-"):
        if preamble.source != bytes([SOURCE_ROOT]):
            raise ValueError("KeySource")
        return file_key_from_root(b64url_key(key_text, "s3seal-root-"), preamble.object_id)
    return b64url_key(key_text, "s3seal-file-")


def open_object(data: bytes, key_text: str | None = None, passphrase: str | None = None, object_name: str | None = None):
    """Returns (name, media_type, size, plaintext); raises on any failure.
    With `object_name`, also checks the object is the one its name says."""
    preamble = Preamble(data)
    if object_name is not None:
        object_id, enc = parse_object_name(object_name)
        preamble_enc = preamble.source[1:] if preamble.source[:1] == bytes([SOURCE_RECIPIENT]) else None
        if (object_id, enc) != (preamble.object_id, preamble_enc):
            raise ValueError("NameMismatch")
    file_key = file_key_for(preamble, key_text, passphrase)
    commitment = hkdf_sha256(file_key, None, b"s3seal/v1 commitment" + preamble.object_id)
    if not hmac.compare_digest(commitment, preamble.commitment):
        raise ValueError("WrongKey")
    meta = AESGCM(subkey(file_key, b"s3seal/v1 metadata")).decrypt(preamble.box[:12], preamble.box[12:], preamble.head)
    (name_len,) = struct.unpack(">H", meta[:2])
    name = meta[2 : 2 + name_len].decode()
    rest = meta[2 + name_len :]
    (type_len,) = struct.unpack(">H", rest[:2])
    media_type = rest[2 : 2 + type_len].decode()
    known, size = rest[2 + type_len], struct.unpack(">Q", rest[3 + type_len : 11 + type_len])[0]
    primitive = tink_primitive(subkey(file_key, b"s3seal/v1 payload"))
    with primitive.new_decrypting_stream(io.BytesIO(data[preamble.length :]), preamble.raw) as stream:
        plaintext = stream.read()
    if known and size != len(plaintext):
        raise ValueError("Corrupt")
    return name, media_type, (size if known else None), plaintext


def seal_with_file_key(file_key: bytes, source: bytes, object_id: bytes, name: str, media_type: str, plaintext: bytes) -> bytes:
    """Seals under `file_key` recording key source `source` (kind ‖ parameters),
    with Tink doing the payload."""
    commitment = hkdf_sha256(file_key, None, b"s3seal/v1 commitment" + object_id)
    meta = (
        struct.pack(">H", len(name.encode())) + name.encode()
        + struct.pack(">H", len(media_type)) + media_type.encode()
        + b"\x01" + struct.pack(">Q", len(plaintext))
    )
    box_len = 12 + len(meta) + 16
    head = MAGIC + b"\x01\x00" + object_id + commitment + struct.pack(">H", len(source)) + source + struct.pack(">H", box_len)
    nonce = hashlib.sha256(object_id).digest()[:12]
    preamble = head + nonce + AESGCM(subkey(file_key, b"s3seal/v1 metadata")).encrypt(nonce, meta, head)
    out = io.BytesIO()
    with tink_primitive(subkey(file_key, b"s3seal/v1 payload")).new_encrypting_stream(_NoClose(out), preamble) as stream:
        stream.write(plaintext)
    return preamble + out.getvalue()


def seal_object(root: bytes, object_id: bytes, name: str, media_type: str, plaintext: bytes) -> bytes:
    """Seals with a root key: the reverse direction of the interop test."""
    file_key = file_key_from_root(root, object_id)
    return seal_with_file_key(file_key, bytes([SOURCE_ROOT]), object_id, name, media_type, plaintext)


def seal_to_recipient(recipient_text: str, object_id: bytes, name: str, media_type: str, plaintext: bytes) -> tuple[str, bytes]:
    """Seals to a recipient with pyhpke + Tink; returns (object name, object)."""
    pk = HPKE.kem.deserialize_public_key(bech32_key(recipient_text, "s3seal"))
    enc, ctx = HPKE.create_sender_context(pk, info=recipient_info(object_id))
    file_key = ctx.export(b"s3seal/v1 file", 32)
    sealed = seal_with_file_key(file_key, bytes([SOURCE_RECIPIENT]) + enc, object_id, name, media_type, plaintext)
    return f"{object_id.hex()}.{enc.hex()}.s3seal", sealed


class _NoClose(io.BytesIO):
    def __init__(self, target):
        super().__init__()
        self.target = target

    def write(self, b):
        return self.target.write(b)

    def close(self):
        pass
