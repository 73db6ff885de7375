"""Independent look at the bucket with boto3, for the browser tests.
  s3check.py get KEY SSE_C_KEY_B64 OUT   object bytes (with the SSE-C key) -> OUT
  s3check.py get-without-key KEY         prints the HTTP status S3 answers
  s3check.py pending PREFIX              prints the number of incomplete multipart uploads
  s3check.py put KEY SSE_C_KEY_B64 FILE   stores FILE under KEY with that SSE-C key
  s3check.py keys NAME IDENTITY_FILE      JSON of the keys that open a recipient-mode
                                         object, derived by the independent spec code
  s3check.py forge KEY FILE_KEY_TEXT TEXT  rewrites a one-segment object in place as a
                                         link holder can: same preamble and length, other
                                         content sealed with the file key, the original
                                         signature kept (it cannot make a new one)
  s3check.py flip KEY FILE_KEY_TEXT OFFSET  flips one stored byte at OFFSET (a tampered segment)
  s3check.py forge-name KEY FILE_KEY_TEXT NAME BACKUP  keeps the object in BACKUP, then reseals its
                                         metadata box with NAME (the same length) as a link
                                         holder can: its head reads, its signature fails
  s3check.py restore KEY FILE_KEY_TEXT BACKUP  puts BACKUP back under KEY
Credentials and endpoint from the environment (scripts/garage.sh env)."""
import base64
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "interop"))

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

if sys.argv[1] == "keys":
    import s3seal_spec as spec

    identity = next(l for l in Path(sys.argv[3]).read_text().splitlines() if l and not l.startswith("#"))
    object_id, enc = spec.parse_object_name(sys.argv[2])
    file_key = spec.file_key_from_identity(identity, object_id, enc)
    keys = {
        "file": file_key,
        "payload": spec.subkey(file_key, b"s3seal/v1 payload"),
        "metadata": spec.subkey(file_key, b"s3seal/v1 metadata"),
        "identity": spec.bech32_key(identity, "s3seal-secret-key-"),
    }
    # Every spelling a leak could take.
    print(json.dumps({
        "identityText": identity,
        "sseC": spec.sse_c_headers(file_key)["x-amz-server-side-encryption-customer-key"],
        "secrets": {name: [k.hex(), base64.b64encode(k).decode(), base64.urlsafe_b64encode(k).decode().rstrip("=")]
                    for name, k in keys.items()},
    }))
    sys.exit(0)

s3 = boto3.client(
    "s3",
    endpoint_url=os.environ["S3SEAL_ENDPOINT"],
    region_name=os.environ.get("S3SEAL_REGION", "us-east-1"),
    config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
)
bucket = os.environ["S3SEAL_BUCKET"]
cmd = sys.argv[1]
if cmd == "get":
    body = s3.get_object(Bucket=bucket, Key=sys.argv[2], SSECustomerAlgorithm="AES256",
                         SSECustomerKey=base64.b64decode(sys.argv[3]))["Body"].read()
    open(sys.argv[4], "wb").write(body)
elif cmd == "get-without-key":
    try:
        s3.get_object(Bucket=bucket, Key=sys.argv[2])
        print(200)
    except ClientError as err:
        print(err.response["ResponseMetadata"]["HTTPStatusCode"])
elif cmd == "pending":
    print(len(s3.list_multipart_uploads(Bucket=bucket, Prefix=sys.argv[2]).get("Uploads", [])))
elif cmd == "forge":
    import s3seal_spec as spec

    file_key = spec.b64url_key(sys.argv[3], "s3seal-file-")
    sse_c = base64.b64decode(spec.sse_c_headers(file_key)["x-amz-server-side-encryption-customer-key"])
    data = s3.get_object(Bucket=bucket, Key=sys.argv[2], SSECustomerAlgorithm="AES256",
                         SSECustomerKey=sse_c)["Body"].read()
    size = len(data) - spec.Preamble(data).length - spec.HEADER_SIZE - spec.TAG_SIZE - spec.SIGNATURE_SIZE
    text = sys.argv[4].encode()
    body = spec.forge_one_segment(data, file_key, (text * (size // len(text) + 1))[:size])
    s3.put_object(Bucket=bucket, Key=sys.argv[2], Body=body, SSECustomerAlgorithm="AES256", SSECustomerKey=sse_c)
elif cmd == "flip":
    import s3seal_spec as spec

    file_key = spec.b64url_key(sys.argv[3], "s3seal-file-")
    sse_c = base64.b64decode(spec.sse_c_headers(file_key)["x-amz-server-side-encryption-customer-key"])
    data = bytearray(s3.get_object(Bucket=bucket, Key=sys.argv[2], SSECustomerAlgorithm="AES256",
                                   SSECustomerKey=sse_c)["Body"].read())
    data[int(sys.argv[4])] ^= 0x01
    s3.put_object(Bucket=bucket, Key=sys.argv[2], Body=bytes(data), SSECustomerAlgorithm="AES256", SSECustomerKey=sse_c)
elif cmd in ("forge-name", "restore"):
    import s3seal_spec as spec
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    file_key = spec.b64url_key(sys.argv[3], "s3seal-file-")
    sse_c = base64.b64decode(spec.sse_c_headers(file_key)["x-amz-server-side-encryption-customer-key"])
    if cmd == "restore":
        body = open(sys.argv[4], "rb").read()
    else:
        data = s3.get_object(Bucket=bucket, Key=sys.argv[2], SSECustomerAlgorithm="AES256",
                             SSECustomerKey=sse_c)["Body"].read()
        open(sys.argv[5], "wb").write(data)
        p = spec.Preamble(data)
        box = AESGCM(spec.subkey(file_key, spec.LABEL_METADATA))
        nonce = p.box[: spec.METADATA_NONCE_SIZE]
        _, media_type, size = spec.parse_metadata(box.decrypt(nonce, p.box[spec.METADATA_NONCE_SIZE :], p.box_aad))
        metadata = spec.encode_metadata(sys.argv[4], media_type, size)
        body = p.box_aad + nonce + box.encrypt(nonce, metadata, p.box_aad) + data[p.length :]
        assert len(body) == len(data), "a name of the same length"
    s3.put_object(Bucket=bucket, Key=sys.argv[2], Body=body, SSECustomerAlgorithm="AES256", SSECustomerKey=sse_c)
elif cmd == "put":
    s3.put_object(Bucket=bucket, Key=sys.argv[2], Body=open(sys.argv[4], "rb").read(), SSECustomerAlgorithm="AES256",
                  SSECustomerKey=base64.b64decode(sys.argv[3]))
elif cmd == "count":
    # Keys under a prefix (at most 1000: enough for a test's own objects).
    print(s3.list_objects_v2(Bucket=bucket, Prefix=sys.argv[2]).get("KeyCount", 0))
elif cmd == "text":
    # A small unencrypted object (sharing state), or "-" if there is none.
    try:
        print(s3.get_object(Bucket=bucket, Key=sys.argv[2])["Body"].read().decode())
    except ClientError:
        print("-")
