"""A presign backend for s3seal in Python with boto3: the JSON API of
`s3seal serve` (see the README), in one file. Run:

    AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… S3SEAL_BUCKET=… \
    S3SEAL_ENDPOINT=https://s3.eu-west-1.amazonaws.com \
    ALLOWED_ORIGIN=https://your.site PRESIGN_TOKEN=… python3 presign_boto3.py 127.0.0.1:8081

It sees at most the derived SSE-C key (never the file key), logs no header
values, confines objects to a prefix, refuses unencrypted uploads, caps sizes
(signed into every PUT), and never presigns a write over an existing object.
Who may call it is your application's decision: see `authorized()`.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

BUCKET = os.environ.get("S3SEAL_BUCKET", "s3seal")
PREFIX = os.environ.get("S3SEAL_PREFIX", "uploads/")
EXPIRY = int(os.environ.get("S3SEAL_EXPIRY_SECS", "300"))
MAX_SIZE = int(os.environ.get("S3SEAL_MAX_SIZE", str(5 << 30)))
MIN_PART_SIZE = 5 << 20
MAX_PART_SIZE = 5 << 30
# The page's origin, answered in CORS; never "*": a presign backend that any
# site may call is an open file host.
ALLOWED_ORIGIN = os.environ.get("ALLOWED_ORIGIN", "")
MAX_BODY = 16 * 1024
NAME = re.compile(r"^[0-9a-f]{32}(\.[0-9a-f]{64})?\.s3seal$")
s3 = boto3.client(
    "s3",
    endpoint_url=os.environ.get("S3SEAL_ENDPOINT"),
    region_name=os.environ.get("S3SEAL_REGION", "us-east-1"),
    config=Config(signature_version="s3v4", s3={"addressing_style": os.environ.get("S3SEAL_ADDRESSING", "path")}),
)
OPS = {
    "put": "put_object",
    "createMultipart": "create_multipart_upload",
    "uploadPart": "upload_part",
    "completeMultipart": "complete_multipart_upload",
    "abortMultipart": "abort_multipart_upload",
    "head": "head_object",
    "get": "get_object",
}
METHODS = {"put": "PUT", "createMultipart": "POST", "uploadPart": "PUT", "completeMultipart": "POST",
           "abortMultipart": "DELETE", "head": "HEAD", "get": "GET"}


class Refused(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code = status, code


def authorized(headers):
    """YOUR SESSION CHECK GOES HERE: look up the caller's session (cookie,
    bearer token) and decide whether this user may upload or download. This
    example accepts one shared bearer token from PRESIGN_TOKEN, compared in
    constant time; with none configured it refuses everyone."""
    token = os.environ.get("PRESIGN_TOKEN", "")
    presented = headers.get("authorization", "")
    expected = f"Bearer {token}"
    return bool(token) and hmac.compare_digest(
        hashlib.sha256(presented.encode()).digest(), hashlib.sha256(expected.encode()).digest())


def key_is_free(key):
    """S3 buckets without conditional writes (Garage) replace objects
    silently: check first. 404 is the only "free" (an SSE-C object answers
    400 to a HEAD without its key)."""
    try:
        s3.head_object(Bucket=BUCKET, Key=key)
    except ClientError as err:
        return err.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    return False


def check_parts(key, upload_id, declared):
    """The parts of a multipart upload, checked before it may complete: each
    part URL signs its own length, so only here is the total known."""
    parts = []
    for page in s3.get_paginator("list_parts").paginate(Bucket=BUCKET, Key=key, UploadId=upload_id):
        parts.extend(page.get("Parts", []))
    numbers = sorted(p["PartNumber"] for p in parts)
    total = sum(p["Size"] for p in parts)
    problem = None
    if not parts or numbers != list(range(1, len(numbers) + 1)):
        problem = "the upload's parts are not numbered 1..n"
    elif total > MAX_SIZE:
        problem = f"object too large: its parts hold {total} bytes > {MAX_SIZE}"
    elif any(p["Size"] < MIN_PART_SIZE for p in parts if p["PartNumber"] != numbers[-1]):
        problem = "every part but the last must be at least 5 MiB"
    elif declared != total:
        problem = f"the parts hold {total} bytes, not the declared {declared}"
    if problem:
        s3.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload_id)
        raise Refused(403, "Refused", problem + "; the upload was aborted")


def presign(req):
    op, name = req.get("op"), req.get("object", "")
    if op not in OPS or not NAME.match(name):
        raise Refused(403, "Refused", "bad op or object name")
    key = PREFIX + name
    params = {"Bucket": BUCKET, "Key": key}
    headers = {}
    sse = req.get("sseC")
    if op in ("put", "createMultipart", "uploadPart", "head", "get"):
        if not sse:
            raise Refused(403, "Refused", "SSE-C is required")
        raw = base64.b64decode(sse["key"], validate=True)
        if len(raw) != 32 or base64.b64encode(hashlib.md5(raw).digest()).decode() != sse["keyMd5"]:
            raise Refused(403, "Refused", "bad SSE-C key")
        # boto3 signs the three SSE-C headers into the URL; the client sends them.
        params.update(SSECustomerAlgorithm="AES256", SSECustomerKey=raw)
        headers = {
            "x-amz-server-side-encryption-customer-algorithm": "AES256",
            "x-amz-server-side-encryption-customer-key": sse["key"],
            "x-amz-server-side-encryption-customer-key-MD5": sse["keyMd5"],
        }
    size = req.get("size")
    if size is not None and (not isinstance(size, int) or size < 0 or size > MAX_SIZE):
        raise Refused(403, "Refused", f"size must be 0..{MAX_SIZE} bytes")
    if op in ("put", "uploadPart"):
        if size is None or size > MAX_PART_SIZE:
            raise Refused(403, "Refused", "a size of at most 5 GiB is required")
        params["ContentLength"] = size  # signed: S3 refuses any other length
    if op in ("uploadPart", "completeMultipart", "abortMultipart"):
        params["UploadId"] = req["uploadId"]
    if op == "uploadPart":
        params["PartNumber"] = int(req["partNumber"])
    if op in ("put", "completeMultipart"):
        if not key_is_free(key):
            raise Refused(409, "ObjectExists", "an object with this name exists")
        if op == "completeMultipart":
            # Required: unsigned, parts added after the check would go uncounted.
            if size is None:
                raise Refused(403, "Refused", "completeMultipart needs the object's total size")
            check_parts(key, req["uploadId"], size)
            # AWS refuses (400) to complete if the parts do not add up to it.
            params["MpuObjectSize"] = size
            headers["x-amz-mp-object-size"] = str(size)
        # S3 itself refuses to replace an object where it honours this (AWS).
        params["IfNoneMatch"] = "*"
        headers["if-none-match"] = "*"
    url = s3.generate_presigned_url(OPS[op], Params=params, ExpiresIn=EXPIRY, HttpMethod=METHODS[op])
    return {"method": METHODS[op], "url": url, "headers": headers}


class Handler(BaseHTTPRequestHandler):
    timeout = 10  # seconds a client may stall on one read before it is dropped

    def cors(self):
        if ALLOWED_ORIGIN and self.headers.get("origin") == ALLOWED_ORIGIN:
            self.send_header("access-control-allow-origin", ALLOWED_ORIGIN)
            self.send_header("access-control-allow-headers", "content-type, authorization")
            self.send_header("vary", "origin")

    def reply(self, status, out):
        data = json.dumps(out).encode()
        self.send_response(status)
        self.cors()
        self.send_header("content-type", "application/json")
        self.send_header("cache-control", "no-store")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_OPTIONS(self):
        self.send_response(204)
        self.cors()
        self.end_headers()

    def do_POST(self):
        try:
            origin = self.headers.get("origin")
            if origin is not None and origin != ALLOWED_ORIGIN:
                raise Refused(403, "CrossOrigin", "requests from another origin are refused")
            if not authorized(self.headers):
                raise Refused(401, "Unauthorized", "sign in first")
            length = int(self.headers.get("content-length", "0"))
            if not 0 <= length <= MAX_BODY:
                raise Refused(413, "TooLarge", "a presign request is at most 16 KiB")
            self.reply(200, presign(json.loads(self.rfile.read(length))))
        except Refused as err:
            self.reply(err.status, {"error": {"code": err.code, "message": str(err)}})
        except (ValueError, KeyError, TypeError) as err:
            self.reply(400, {"error": {"code": "BadRequest", "message": str(err)}})

    def log_message(self, fmt, *args):  # the request line only; never bodies or headers
        sys.stderr.write("presign %s\n" % (args[0] if args else ""))


class BoundedServer(ThreadingHTTPServer):
    """At most MAX_CLIENTS connections are served at once; more are closed at
    once, so slow clients cannot take every thread."""
    MAX_CLIENTS = 64
    slots = threading.BoundedSemaphore(MAX_CLIENTS)

    def process_request(self, request, client_address):
        if not self.slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


if __name__ == "__main__":
    host, port = (sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:8081").rsplit(":", 1)
    server = BoundedServer((host, int(port)), Handler)
    print(f"listening on http://{host}:{server.server_address[1]}", file=sys.stderr, flush=True)
    server.serve_forever()
