"""A presign backend for s3seal in Python with boto3: the JSON API of
`s3seal serve` (see the README), in one file. Run:

    AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… S3SEAL_BUCKET=… \
    S3SEAL_ENDPOINT=https://s3.eu-west-1.amazonaws.com python3 presign_boto3.py 127.0.0.1:8081

It sees at most the derived SSE-C key (never the file key), logs no header
values, confines objects to a prefix and refuses unencrypted uploads.
"""

import base64
import hashlib
import json
import os
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
from botocore.config import Config

BUCKET = os.environ.get("S3SEAL_BUCKET", "s3seal")
PREFIX = os.environ.get("S3SEAL_PREFIX", "uploads/")
EXPIRY = int(os.environ.get("S3SEAL_EXPIRY_SECS", "300"))
NAME = re.compile(r"^[0-9a-f]{32}\.s3seal$")
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


def presign(req):
    op, name = req.get("op"), req.get("object", "")
    if op not in OPS or not NAME.match(name):
        raise ValueError("bad op or object name")
    params = {"Bucket": BUCKET, "Key": PREFIX + name}
    headers = {}
    sse = req.get("sseC")
    if op in ("put", "createMultipart", "uploadPart", "head", "get"):
        if not sse:
            raise ValueError("SSE-C is required")
        key = base64.b64decode(sse["key"], validate=True)
        if len(key) != 32 or base64.b64encode(hashlib.md5(key).digest()).decode() != sse["keyMd5"]:
            raise ValueError("bad SSE-C key")
        # boto3 signs the three SSE-C headers into the URL; the client sends them.
        params.update(SSECustomerAlgorithm="AES256", SSECustomerKey=key)
        headers = {
            "x-amz-server-side-encryption-customer-algorithm": "AES256",
            "x-amz-server-side-encryption-customer-key": sse["key"],
            "x-amz-server-side-encryption-customer-key-MD5": sse["keyMd5"],
        }
    if op in ("uploadPart", "completeMultipart", "abortMultipart"):
        params["UploadId"] = req["uploadId"]
    if op == "uploadPart":
        params["PartNumber"] = int(req["partNumber"])
    url = s3.generate_presigned_url(OPS[op], Params=params, ExpiresIn=EXPIRY, HttpMethod=METHODS[op])
    return {"method": METHODS[op], "url": url, "headers": headers}


class Handler(BaseHTTPRequestHandler):
    def cors(self):
        self.send_header("access-control-allow-origin", "*")
        self.send_header("access-control-allow-headers", "content-type")

    def do_OPTIONS(self):
        self.send_response(204)
        self.cors()
        self.end_headers()

    def do_POST(self):
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))))
            status, out = 200, presign(body)
        except (ValueError, KeyError, TypeError) as err:
            status, out = 403, {"error": {"code": "Refused", "message": str(err)}}
        data = json.dumps(out).encode()
        self.send_response(status)
        self.cors()
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):  # the request line only; never bodies or headers
        sys.stderr.write("presign %s\n" % (args[0] if args else ""))


if __name__ == "__main__":
    host, port = (sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:8081").rsplit(":", 1)
    server = ThreadingHTTPServer((host, int(port)), Handler)
    print(f"listening on http://{host}:{server.server_address[1]}", file=sys.stderr, flush=True)
    server.serve_forever()
