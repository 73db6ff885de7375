"""Independent look at the bucket with boto3, for the browser tests.
  s3check.py get KEY SSE_C_KEY_B64 OUT   object bytes (with the SSE-C key) -> OUT
  s3check.py get-without-key KEY         prints the HTTP status S3 answers
  s3check.py pending PREFIX              prints the number of incomplete multipart uploads
Credentials and endpoint from the environment (scripts/garage.sh env)."""
import base64
import os
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

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
