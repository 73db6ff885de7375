"""An independent reader and sealer for the s3seal object format, version 2.

Written from docs/FORMAT.md alone (no look at s3seal's own code), so that
`make test` measures whether the document suffices. Section numbers in the
comments (§n) refer to that document.

Everything a reader refuses raises SpecError whose str() is the error code of
§6. The payload is decrypted here with plain AES-GCM rather than through Tink,
because §5.3 classifies the end of an object (Truncated / BadSignature /
Corrupt) by trying several segment boundaries and last flags, which Tink's
stream API cannot express; `tink_primitive` exists so a test can check that
Tink agrees on the bytes.
"""

import base64
import hashlib
import hmac
import os
import re
import struct

import bech32
import pyhpke
from argon2.low_level import Type as _Argon2Type
from argon2.low_level import hash_secret_raw as _argon2_raw
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# ---------------------------------------------------------------- §2 constants

MAGIC = b"S3SEAL"
VERSION = 2
KEY_SIZE = 32
OBJECT_ID_SIZE = 16
VERIFYING_KEY_SIZE = 32
SIGNATURE_SIZE = 64
SIGNING_SALT_SIZE = 32
FIXED_SIZE = 90
SEGMENT_SIZE = 262144
TAG_SIZE = 16
HEADER_SIZE = 40
FIRST_PLAINTEXT_SEGMENT_SIZE = SEGMENT_SIZE - HEADER_SIZE - TAG_SIZE  # 262088
PLAINTEXT_SEGMENT_SIZE = SEGMENT_SIZE - TAG_SIZE  # 262128
PASSPHRASE_MEMORY_KIB = 65536
PASSPHRASE_ITERATIONS = 3
PASSPHRASE_LANES = 1
MAX_PREAMBLE_SIZE = 4096
MAX_NAME_SIZE = 1024
MAX_MEDIA_TYPE_SIZE = 255

METADATA_NONCE_SIZE = 12
MIN_BOX_SIZE = METADATA_NONCE_SIZE + TAG_SIZE  # §4: m >= 28
NONCE_PREFIX_SIZE = 7
MAX_SEGMENTS = 2**32  # §5.1: the segment index is a u32 in the nonce

# §4 key source kinds and the length n each requires
KIND_ROOT = 0x01
KIND_PASSPHRASE = 0x02
KIND_RECIPIENT = 0x03
_SOURCE_SIZE = {KIND_ROOT: 1, KIND_PASSPHRASE: 13, KIND_RECIPIENT: 33}
PASSPHRASE_SOURCE = bytes([KIND_PASSPHRASE]) + struct.pack(
    ">III", PASSPHRASE_MEMORY_KIB, PASSPHRASE_ITERATIONS, PASSPHRASE_LANES
)

# §3.1 / §3.3 / §5.2 labels (the v1 spellings are deliberate, see §3.1)
LABEL_SIGNING = b"s3seal/v2 signing key"
LABEL_OBJECT_ID = b"s3seal/v2 object id"
LABEL_FILE = b"s3seal/v1 file"
LABEL_COMMITMENT = b"s3seal/v1 commitment"
LABEL_PAYLOAD = b"s3seal/v1 payload"
LABEL_METADATA = b"s3seal/v1 metadata"
LABEL_SSE_C = b"s3seal/v1 sse-c"
LABEL_RECIPIENT = b"s3seal/v1 recipient"
LABEL_SIGNATURE = b"s3seal/v2 signature"

ROOT_PREFIX = "s3seal-root-"
FILE_PREFIX = "s3seal-file-"
RECIPIENT_HRP = "s3seal"
IDENTITY_HRP = "s3seal-secret-key-"  # the HRP includes the trailing dash

# §3.3: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, export-only AEAD.
HPKE = pyhpke.CipherSuite.new(
    pyhpke.KEMId.DHKEM_X25519_HKDF_SHA256,
    pyhpke.KDFId.HKDF_SHA256,
    pyhpke.AEADId.EXPORT_ONLY,
)


class SpecError(ValueError):
    """A refusal; str(e) is exactly one error code of §6."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


# ------------------------------------------------------------ §3.1 derivations


def hkdf_sha256(ikm, salt, info, length=32):
    """RFC 5869 HKDF-SHA256; an absent salt is 32 zero bytes (RFC 5869 §2.2)."""
    if salt is None:
        salt = bytes(32)
    prk = hmac.new(bytes(salt), bytes(ikm), hashlib.sha256).digest()
    okm, block, counter = b"", b"", 1
    while len(okm) < length:
        block = hmac.new(prk, block + bytes(info) + bytes([counter]), hashlib.sha256).digest()
        okm += block
        counter += 1
    return okm[:length]


def _label(label):
    return label.encode("ascii") if isinstance(label, str) else bytes(label)


def subkey(file_key, label):
    """HKDF(ikm = F, salt = none, info = label): commitment, payload, metadata, SSE-C keys."""
    return hkdf_sha256(file_key, None, _label(label))


def commitment_of(file_key, object_id):
    return subkey(file_key, LABEL_COMMITMENT + object_id)


def _passphrase_bytes(passphrase):
    # §3.1: UTF-8 as given, no normalisation or trimming; empty is refused.
    if not isinstance(passphrase, str) or passphrase == "":
        raise SpecError("InvalidKey")
    try:
        return passphrase.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates have no UTF-8 form
        raise SpecError("InvalidKey") from None


def _argon2id(passphrase, salt):
    return _argon2_raw(
        _passphrase_bytes(passphrase),
        bytes(salt),
        time_cost=PASSPHRASE_ITERATIONS,
        memory_cost=PASSPHRASE_MEMORY_KIB,
        parallelism=PASSPHRASE_LANES,
        hash_len=KEY_SIZE,
        type=_Argon2Type.ID,
        version=0x13,
    )


def root_from_passphrase(passphrase, salt):
    """Argon2id with the version's constant cost. The root key uses salt = object id;
    the signing seed's S uses salt = signing salt (§3.1)."""
    return _argon2id(passphrase, salt)


def signing_seed(secret, signing_salt):
    """HKDF(ikm = S, salt = signing salt, info = "s3seal/v2 signing key")."""
    return hkdf_sha256(secret, signing_salt, LABEL_SIGNING)


def verifying_key_of(seed):
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()


def object_id_of(verifying_key):
    return hashlib.sha256(LABEL_OBJECT_ID + bytes(verifying_key)).digest()[:OBJECT_ID_SIZE]


def file_key_from_root(root, object_id):
    return hkdf_sha256(root, object_id, LABEL_FILE)


def _recipient_info(object_id):
    return LABEL_RECIPIENT + bytes(object_id)


def file_key_from_identity(identity_text, object_id, enc):
    """§3.3 reader side. Any HPKE failure (a low-order `enc` makes X25519 refuse an
    all-zero shared secret) is WrongKey, as §3.3 says."""
    sk_bytes = _identity_bytes(identity_text)
    try:
        skr = HPKE.kem.deserialize_private_key(sk_bytes)  # clamps, RFC 7748
        ctx = HPKE.create_recipient_context(bytes(enc), skr, _recipient_info(object_id))
        return ctx.export(LABEL_FILE, KEY_SIZE)
    except (ValueError, pyhpke.PyHPKEError):
        raise SpecError("WrongKey") from None


def sse_c_headers(file_key):
    """§7: the three SSE-C headers (standard base64 with padding)."""
    key = subkey(file_key, LABEL_SSE_C)
    return {
        "x-amz-server-side-encryption-customer-algorithm": "AES256",
        "x-amz-server-side-encryption-customer-key": base64.b64encode(key).decode("ascii"),
        "x-amz-server-side-encryption-customer-key-MD5": base64.b64encode(
            hashlib.md5(key).digest()
        ).decode("ascii"),
    }


# ------------------------------------------------------------ §3.4 key texts

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_B64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def b64url_key(text, prefix):
    """`prefix` followed by exactly 43 base64url characters of a 32-byte key."""
    if not isinstance(text, str):
        raise SpecError("InvalidKey")
    text = text.strip()
    if not text.startswith(prefix):
        raise SpecError("InvalidKey")
    body = text[len(prefix):]
    if len(body) != 43:
        raise SpecError("InvalidKey")
    if not _B64URL.fullmatch(body):
        raise SpecError("InvalidBase64")
    # 43 characters carry 258 bits; the last 2 must be zero (one spelling per key).
    if _B64URL_ALPHABET.index(body[-1]) & 0b11:
        raise SpecError("InvalidBase64")
    return base64.urlsafe_b64decode(body + "=")


def bech32_key(text, hrp):
    """A BIP 173 Bech32 string with human-readable part `hrp` carrying 32 bytes.
    The reference module already refuses mixed case, bad characters and checksums."""
    if not isinstance(text, str):
        raise SpecError("InvalidKey")
    got_hrp, data = bech32.bech32_decode(text.strip())
    if got_hrp is None or got_hrp != hrp:
        raise SpecError("InvalidKey")
    key = bech32.convertbits(data, 5, 8, False)
    if key is None or len(key) != KEY_SIZE:
        raise SpecError("InvalidKey")
    return bytes(key)


def _identity_line(text):
    # §3.4 identity files: the first line neither blank nor a comment, trimmed.
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            return line
    return ""


def _identity_bytes(identity_text):
    if not isinstance(identity_text, str):
        raise SpecError("InvalidKey")
    return bech32_key(_identity_line(identity_text), IDENTITY_HRP)


def parse_key_text(text):
    """Classify a key text: ("root" | "file" | "identity", 32 bytes)."""
    if not isinstance(text, str):
        raise SpecError("InvalidKey")
    trimmed = text.strip()
    if trimmed.startswith(ROOT_PREFIX):
        return "root", b64url_key(trimmed, ROOT_PREFIX)
    if trimmed.startswith(FILE_PREFIX):
        return "file", b64url_key(trimmed, FILE_PREFIX)
    # Anything else may only be an identity (or an identity file); a recipient
    # (public key) cannot open anything, so it falls through to InvalidKey.
    return "identity", _identity_bytes(trimmed)


# ------------------------------------------------------------ §1 object names

_ID_HEX = re.compile(r"[0-9a-f]{32}")
_ENC_HEX = re.compile(r"[0-9a-f]{64}")


def parse_object_name(name):
    """(object id, enc or None) from an object name; §1's grammar, lower-case hex only."""
    if not isinstance(name, str):
        raise SpecError("InvalidInput")
    final = name.rsplit("/", 1)[-1]
    if final.endswith(".s3seal"):
        final = final[: -len(".s3seal")]
    parts = final.split(".")
    if len(parts) == 1 and _ID_HEX.fullmatch(parts[0]):
        return bytes.fromhex(parts[0]), None
    if len(parts) == 2 and _ID_HEX.fullmatch(parts[0]) and _ENC_HEX.fullmatch(parts[1]):
        return bytes.fromhex(parts[0]), bytes.fromhex(parts[1])
    raise SpecError("InvalidInput")


def object_name(object_id, enc=None):
    if enc is None:
        return object_id.hex() + ".s3seal"
    return object_id.hex() + "." + enc.hex() + ".s3seal"


# ------------------------------------------------------------ §4 preamble


class Preamble:
    """Parses the preamble at the start of `data`, checking §6 rows 1-6 in order.

    Each check is made as soon as the bytes it needs are present, and the
    object ending before the next needed byte is Truncated; that is how rows 5
    (Malformed) and 6 (Truncated) can both be "in order" for a buffered reader.
    """

    def __init__(self, data):
        data = bytes(data)
        head = data[: len(MAGIC)]
        if head != MAGIC[: len(head)]:
            raise SpecError("NotSealed")

        def need(size):
            if len(data) < size:
                raise SpecError("Truncated")

        need(len(MAGIC))
        need(7)
        if data[6] != VERSION:
            raise SpecError("UnsupportedVersion")
        need(8)
        if data[7] != 0:
            raise SpecError("Malformed")
        need(FIXED_SIZE)
        (n,) = struct.unpack_from(">H", data, 88)
        if FIXED_SIZE + n + 2 > MAX_PREAMBLE_SIZE or n == 0:
            raise SpecError("Malformed")
        need(FIXED_SIZE + 1)
        kind = data[FIXED_SIZE]
        if _SOURCE_SIZE.get(kind) != n:
            raise SpecError("Malformed")  # unknown kind, or a known kind with another n
        need(FIXED_SIZE + n + 2)
        (m,) = struct.unpack_from(">H", data, FIXED_SIZE + n)
        length = FIXED_SIZE + n + 2 + m
        if m < MIN_BOX_SIZE or length > MAX_PREAMBLE_SIZE:
            raise SpecError("Malformed")
        need(length)

        self.raw = data[:length]
        self.length = length
        self.version = data[6]
        self.flags = data[7]
        self.object_id = data[8:24]
        self.verifying_key = data[24:56]
        self.commitment = data[56:88]
        self.source = data[FIXED_SIZE : FIXED_SIZE + n]  # kind byte ‖ contents
        self.kind = kind
        self.enc = self.source[1:] if kind == KIND_RECIPIENT else None
        self.passphrase_cost = (
            struct.unpack(">III", self.source[1:]) if kind == KIND_PASSPHRASE else None
        )
        self.box = data[FIXED_SIZE + n + 2 : length]
        # §4: the box's associated data is everything before it, including m.
        self.box_aad = data[: FIXED_SIZE + n + 2]


def parse_metadata(metadata):
    """§4 sealed metadata -> (name, media type, size or None); Malformed if not well formed."""
    pos = 0

    def take(count):
        nonlocal pos
        if pos + count > len(metadata):
            raise SpecError("Malformed")
        chunk = metadata[pos : pos + count]
        pos += count
        return chunk

    def text(limit):
        (size,) = struct.unpack(">H", take(2))
        raw = take(size)
        if size > limit:
            raise SpecError("Malformed")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SpecError("Malformed") from None

    name = text(MAX_NAME_SIZE)
    media_type = text(MAX_MEDIA_TYPE_SIZE)
    known = take(1)[0]
    (size,) = struct.unpack(">Q", take(8))
    if known not in (0, 1) or (known == 0 and size != 0) or pos != len(metadata):
        raise SpecError("Malformed")
    return name, media_type, (size if known else None)


def encode_metadata(name, media_type, size):
    name_b, type_b = name.encode("utf-8"), media_type.encode("utf-8")
    if len(name_b) > MAX_NAME_SIZE or len(type_b) > MAX_MEDIA_TYPE_SIZE:
        raise SpecError("InvalidInput")
    known = 0 if size is None else 1
    return (
        struct.pack(">H", len(name_b)) + name_b
        + struct.pack(">H", len(type_b)) + type_b
        + struct.pack(">BQ", known, size or 0)
    )


# ------------------------------------------------------------ §5 payload


def _nonce(prefix, index, last):
    return prefix + struct.pack(">IB", index, 1 if last else 0)


def _open_segment(aead, prefix, index, ciphertext, last):
    """Plaintext of segment `index` with the given last flag, or None if it does not verify."""
    if index >= MAX_SEGMENTS or len(ciphertext) < TAG_SIZE:
        return None
    try:
        return aead.decrypt(_nonce(prefix, index, last), bytes(ciphertext), None)
    except InvalidTag:
        return None


def _segment_capacity(index):
    return SEGMENT_SIZE - HEADER_SIZE if index == 0 else SEGMENT_SIZE


def signed_message(preamble, header, digests):
    """§5.2: the bytes the Ed25519 signature covers."""
    return (
        LABEL_SIGNATURE + preamble + header + struct.pack(">Q", len(digests))
        + hashlib.sha256(b"".join(digests)).digest()
    )


# Edwards25519, only to reject small-order points as ed25519-dalek's
# verify_strict does (§5.2); OpenSSL's Ed25519 verify does not check this.
_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = (-121665 * pow(121666, -1, _P)) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _decompress(encoded):
    # Like curve25519-dalek: y is taken mod p (non-canonical y accepted).
    y = (int.from_bytes(encoded, "little") & ((1 << 255) - 1)) % _P
    sign = encoded[31] >> 7
    u, v = (y * y - 1) % _P, (_D * y * y + 1) % _P
    x = (u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P)) % _P
    if (v * x * x - u) % _P != 0:
        x = (x * _SQRT_M1) % _P
        if (v * x * x - u) % _P != 0:
            return None
    if (x & 1) != sign:
        x = (-x) % _P
    return x, y


def _edwards_add(p1, p2):
    (x1, y1), (x2, y2) = p1, p2
    t = _D * x1 * x2 * y1 * y2 % _P
    x3 = (x1 * y2 + y1 * x2) * pow(1 + t, -1, _P) % _P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, -1, _P) % _P
    return x3, y3


def _is_small_order(encoded):
    point = _decompress(encoded)
    if point is None:
        return True  # not a point at all: refuse like a small-order one
    for _ in range(3):
        point = _edwards_add(point, point)
    return point == (0, 1)


def verify_strict(verifying_key, message, signature):
    if len(signature) != SIGNATURE_SIZE or len(verifying_key) != VERIFYING_KEY_SIZE:
        return False
    if int.from_bytes(signature[32:], "little") >= _L:
        return False
    if _is_small_order(verifying_key) or _is_small_order(signature[:32]):
        return False
    try:
        Ed25519PublicKey.from_public_bytes(bytes(verifying_key)).verify(bytes(signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _read_payload(data, preamble, payload_key, declared_size):
    """§5.3 steps 2-5 over everything after the preamble; returns the plaintext."""
    body = memoryview(data)[preamble.length :]
    if len(body) < HEADER_SIZE:
        raise SpecError("Truncated")
    header = bytes(body[:HEADER_SIZE])
    if header[0] != HEADER_SIZE:
        raise SpecError("Corrupt")
    salt, prefix = header[1:33], header[33:40]
    aead = AESGCM(hkdf_sha256(payload_key, salt, preamble.raw))

    rest = body[HEADER_SIZE:]
    plaintext, digests = [], []
    i, pos = 0, 0

    # Step 3: a segment followed by more than a signature's worth of bytes is not last.
    while len(rest) - pos > _segment_capacity(i) + SIGNATURE_SIZE:
        cap = _segment_capacity(i)
        segment = rest[pos : pos + cap]
        opened = _open_segment(aead, prefix, i, segment, last=False)
        if opened is None:
            raise SpecError("Corrupt")
        plaintext.append(opened)
        digests.append(hashlib.sha256(segment).digest())
        pos += cap
        i += 1

    # Step 4: the remainder is the last segment and the signature.
    remainder = rest[pos:]
    cap = _segment_capacity(i)

    def allowed(size):  # no empty last segment after others (§5.1)
        return i == 0 or size > TAG_SIZE

    if len(remainder) > SIGNATURE_SIZE:
        last = remainder[: len(remainder) - SIGNATURE_SIZE]
        signature = bytes(remainder[len(remainder) - SIGNATURE_SIZE :])
        opened = _open_segment(aead, prefix, i, last, last=True) if allowed(len(last)) else None
        if opened is not None:
            plaintext.append(opened)
            digests.append(hashlib.sha256(last).digest())
            result = b"".join(plaintext)
            if declared_size is not None and declared_size != len(result):
                raise SpecError("Corrupt")
            message = signed_message(preamble.raw, header, digests)
            if not verify_strict(preamble.verifying_key, message, signature):
                raise SpecError("BadSignature")
            return result

    # Step 5: why it failed.
    if len(remainder) == 0:
        raise SpecError("Truncated")
    if len(remainder) == cap and _open_segment(aead, prefix, i, remainder, last=False) is not None:
        raise SpecError("Truncated")
    if allowed(len(remainder)) and _open_segment(aead, prefix, i, remainder, last=True) is not None:
        raise SpecError("BadSignature")
    if (
        len(remainder) > cap + TAG_SIZE
        and _open_segment(aead, prefix, i, remainder[:cap], last=False) is not None
        and _open_segment(aead, prefix, i + 1, remainder[cap:], last=True) is not None
    ):
        raise SpecError("BadSignature")
    raise SpecError("Corrupt")


# ------------------------------------------------------------ §5.3 reading


def open_object(data, key_text=None, passphrase=None, object_name=None):
    """Open a sealed object: (name, media type, size or None, plaintext).

    Exactly one of key_text (root key, file key or identity, §3.4) and
    passphrase. A file key needs object_name (§1): F opens whatever id it is
    shown, so only the name ties it to the object the link was made for.
    That refusal is InvalidInput (§1, §6 row 0).
    """
    # Inputs first: a key that cannot be parsed is refused before the object
    # is looked at (FORMAT.md does not order these against §6).
    if (key_text is None) == (passphrase is None):
        raise SpecError("InvalidInput")
    if passphrase is not None:
        _passphrase_bytes(passphrase)  # refuse an empty passphrase now (InvalidKey)
        kind, secret = "passphrase", passphrase
    else:
        kind, secret = parse_key_text(key_text)
    named = parse_object_name(object_name) if object_name is not None else None
    if kind == "file" and named is None:
        raise SpecError("InvalidInput")

    data = bytes(data)
    preamble = Preamble(data)  # §6 rows 1-6

    # Row 7: the name is the only thing a file-key reader trusts, so it must
    # agree on the id and on enc (present for recipient objects only).
    if named is not None and named != (preamble.object_id, preamble.enc):
        raise SpecError("NameMismatch")
    # Row 8
    if object_id_of(preamble.verifying_key) != preamble.object_id:
        raise SpecError("SignerMismatch")
    # Row 9: a file key opens every kind.
    if kind == "passphrase":
        if preamble.kind != KIND_PASSPHRASE or preamble.source != PASSPHRASE_SOURCE:
            raise SpecError("KeySource")
    elif kind == "root" and preamble.kind != KIND_ROOT:
        raise SpecError("KeySource")
    elif kind == "identity" and preamble.kind != KIND_RECIPIENT:
        raise SpecError("KeySource")

    # Row 10
    if kind == "root":
        file_key = file_key_from_root(secret, preamble.object_id)
    elif kind == "passphrase":
        root = root_from_passphrase(secret, preamble.object_id)
        file_key = file_key_from_root(root, preamble.object_id)
    elif kind == "identity":
        file_key = file_key_from_identity(key_text, preamble.object_id, preamble.enc)
    else:
        file_key = secret
    if not hmac.compare_digest(commitment_of(file_key, preamble.object_id), preamble.commitment):
        raise SpecError("WrongKey")

    # Rows 11-12
    box = preamble.box
    try:
        metadata = AESGCM(subkey(file_key, LABEL_METADATA)).decrypt(
            box[:METADATA_NONCE_SIZE], box[METADATA_NONCE_SIZE:], preamble.box_aad
        )
    except InvalidTag:
        raise SpecError("Corrupt") from None
    name, media_type, size = parse_metadata(metadata)

    # Rows 13-17
    plaintext = _read_payload(data, preamble, subkey(file_key, LABEL_PAYLOAD), size)
    return name, media_type, size, plaintext


# ------------------------------------------------------------ sealing


def _split(plaintext):
    """§5.1: first segment 262088 bytes, then 262128; one empty segment for an empty input."""
    chunks = [plaintext[:FIRST_PLAINTEXT_SEGMENT_SIZE]]
    pos = FIRST_PLAINTEXT_SEGMENT_SIZE
    while pos < len(plaintext):
        chunks.append(plaintext[pos : pos + PLAINTEXT_SEGMENT_SIZE])
        pos += PLAINTEXT_SEGMENT_SIZE
    return chunks


def _assemble(seed, verifying_key, object_id, file_key, source, name, media_type,
              plaintext, payload_salt=None, nonce_prefix=None, metadata_nonce=None):
    plaintext = bytes(plaintext)
    metadata = encode_metadata(name, media_type, len(plaintext))
    metadata_nonce = metadata_nonce if metadata_nonce is not None else os.urandom(METADATA_NONCE_SIZE)
    m = METADATA_NONCE_SIZE + len(metadata) + TAG_SIZE
    box_aad = (
        MAGIC + bytes([VERSION, 0]) + object_id + verifying_key
        + commitment_of(file_key, object_id)
        + struct.pack(">H", len(source)) + source + struct.pack(">H", m)
    )
    box = metadata_nonce + AESGCM(subkey(file_key, LABEL_METADATA)).encrypt(
        metadata_nonce, metadata, box_aad
    )
    preamble = box_aad + box
    assert len(preamble) <= MAX_PREAMBLE_SIZE

    payload_salt = payload_salt if payload_salt is not None else os.urandom(KEY_SIZE)
    nonce_prefix = nonce_prefix if nonce_prefix is not None else os.urandom(NONCE_PREFIX_SIZE)
    header = bytes([HEADER_SIZE]) + payload_salt + nonce_prefix
    aead = AESGCM(hkdf_sha256(subkey(file_key, LABEL_PAYLOAD), payload_salt, preamble))
    chunks = _split(plaintext)
    if len(chunks) > MAX_SEGMENTS:
        raise SpecError("InvalidInput")
    segments = [
        aead.encrypt(_nonce(nonce_prefix, i, i == len(chunks) - 1), chunk, None)
        for i, chunk in enumerate(chunks)
    ]
    digests = [hashlib.sha256(s).digest() for s in segments]
    signature = Ed25519PrivateKey.from_private_bytes(seed).sign(
        signed_message(preamble, header, digests)
    )
    return preamble + header + b"".join(segments) + signature


def _signing_identity(secret, signing_salt):
    seed = signing_seed(secret, signing_salt)
    verifying_key = verifying_key_of(seed)
    return seed, verifying_key, object_id_of(verifying_key)


def seal_object(root, name, media_type, plaintext, signing_salt=None, *,
                payload_salt=None, nonce_prefix=None, metadata_nonce=None):
    """Seal with a root key (§3.1). The keyword arguments fix the random values for test vectors."""
    signing_salt = signing_salt if signing_salt is not None else os.urandom(SIGNING_SALT_SIZE)
    seed, verifying_key, object_id = _signing_identity(bytes(root), signing_salt)
    file_key = file_key_from_root(bytes(root), object_id)
    obj = _assemble(seed, verifying_key, object_id, file_key, bytes([KIND_ROOT]), name,
                    media_type, plaintext, payload_salt, nonce_prefix, metadata_nonce)
    return object_name(object_id), obj


def seal_with_passphrase(passphrase, name, media_type, plaintext, *, signing_salt=None,
                         payload_salt=None, nonce_prefix=None, metadata_nonce=None):
    """§3.1 order of sealing: signing salt, seed (first Argon2id), id, then R (second Argon2id)."""
    signing_salt = signing_salt if signing_salt is not None else os.urandom(SIGNING_SALT_SIZE)
    seed, verifying_key, object_id = _signing_identity(
        _argon2id(passphrase, signing_salt), signing_salt
    )
    file_key = file_key_from_root(root_from_passphrase(passphrase, object_id), object_id)
    obj = _assemble(seed, verifying_key, object_id, file_key, PASSPHRASE_SOURCE, name,
                    media_type, plaintext, payload_salt, nonce_prefix, metadata_nonce)
    return object_name(object_id), obj


def seal_to_recipient(recipient_text, name, media_type, plaintext, *, signing_salt=None,
                      seed_ikm=None, ephemeral_ikm=None, payload_salt=None,
                      nonce_prefix=None, metadata_nonce=None):
    """§3.3. seed_ikm and ephemeral_ikm (DeriveKeyPair input) fix the otherwise fresh
    randomness, as §8.1's vector does."""
    pkr = HPKE.kem.deserialize_public_key(bech32_key(recipient_text, RECIPIENT_HRP))
    signing_salt = signing_salt if signing_salt is not None else os.urandom(SIGNING_SALT_SIZE)
    seed_ikm = seed_ikm if seed_ikm is not None else os.urandom(KEY_SIZE)
    seed, verifying_key, object_id = _signing_identity(seed_ikm, signing_salt)
    eks = HPKE.kem.derive_key_pair(ephemeral_ikm) if ephemeral_ikm is not None else None
    try:
        enc, ctx = HPKE.create_sender_context(pkr, _recipient_info(object_id), eks=eks)
    except (ValueError, pyhpke.PyHPKEError):  # a low-order recipient key
        raise SpecError("InvalidKey") from None
    file_key = ctx.export(LABEL_FILE, KEY_SIZE)
    obj = _assemble(seed, verifying_key, object_id, file_key, bytes([KIND_RECIPIENT]) + enc,
                    name, media_type, plaintext, payload_salt, nonce_prefix, metadata_nonce)
    return object_name(object_id, enc), obj


def recipient_of(identity_text):
    """The recipient text (s3seal1…) of an identity."""
    sk = HPKE.kem.deserialize_private_key(_identity_bytes(identity_text))
    pk = sk.raw.public_key().public_bytes_raw()
    return bech32.bech32_encode(RECIPIENT_HRP, bech32.convertbits(pk, 8, 5, True))


def forge_one_segment(data, file_key, plaintext):
    """What a holder of only the file key can make of a one-segment object
    (§3.2): the same preamble and header, `plaintext` (the same length as
    the original, so the sealed size still holds) sealed under the file key,
    and the original signature kept, since a new one needs the signing key.
    Readers must refuse it (BadSignature)."""
    preamble = Preamble(data)
    header = data[preamble.length : preamble.length + HEADER_SIZE]
    segment = data[preamble.length + HEADER_SIZE : len(data) - SIGNATURE_SIZE]
    if len(segment) >= _segment_capacity(0) or len(plaintext) != len(segment) - TAG_SIZE:
        raise ValueError("a one-segment object and a plaintext of its length")
    aead = AESGCM(hkdf_sha256(subkey(file_key, LABEL_PAYLOAD), header[1:33], preamble.raw))
    forged = aead.encrypt(_nonce(header[33:40], 0, True), bytes(plaintext), None)
    return data[: preamble.length + HEADER_SIZE] + forged + data[len(data) - SIGNATURE_SIZE :]


# ------------------------------------------------------------ Tink cross-check


def tink_primitive(payload_key):
    """Tink StreamingAead (AES256_GCM_HKDF_256KB parameters, RAW) for a payload key.
    It should decrypt object[preamble length : len(object) - 64] with the preamble as
    associated data (§5.1)."""
    from tink import cleartext_keyset_handle, streaming_aead
    from tink.proto import aes_gcm_hkdf_streaming_pb2, common_pb2, tink_pb2

    streaming_aead.register()
    key = aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingKey(
        version=0,
        key_value=bytes(payload_key),
        params=aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingParams(
            ciphertext_segment_size=SEGMENT_SIZE,
            derived_key_size=KEY_SIZE,
            hkdf_hash_type=common_pb2.SHA256,
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
    handle = cleartext_keyset_handle.from_keyset(keyset)
    return handle.primitive(streaming_aead.StreamingAead)
