// A presign backend for s3seal in Node with the AWS SDK for JavaScript v3:
// the JSON API of `s3seal serve` (see the README) as one function. Wire it to
// any HTTP framework: POST body in, JSON out.
//   npm install @aws-sdk/client-s3 @aws-sdk/s3-request-presigner
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { createHash } from "node:crypto";

const bucket = process.env.S3SEAL_BUCKET ?? "s3seal";
const prefix = process.env.S3SEAL_PREFIX ?? "uploads/";
const s3 = new S3Client({
  endpoint: process.env.S3SEAL_ENDPOINT,
  region: process.env.S3SEAL_REGION ?? "us-east-1",
  forcePathStyle: true,
  // Otherwise v3.729+ bakes a CRC32 of an empty body into PUT URLs.
  requestChecksumCalculation: "WHEN_REQUIRED",
});

const COMMANDS = {
  put: [PutObjectCommand, "PUT"],
  createMultipart: [CreateMultipartUploadCommand, "POST"],
  uploadPart: [UploadPartCommand, "PUT"],
  completeMultipart: [CompleteMultipartUploadCommand, "POST"],
  abortMultipart: [AbortMultipartUploadCommand, "DELETE"],
  head: [HeadObjectCommand, "HEAD"],
  get: [GetObjectCommand, "GET"],
};

/** One presign request of the s3seal JSON API -> { method, url, headers }. */
export async function presign(req) {
  const entry = COMMANDS[req.op];
  if (!entry || !/^[0-9a-f]{32}\.s3seal$/.test(req.object ?? "")) throw new Error("bad op or object name");
  const [Command, method] = entry;
  const input = { Bucket: bucket, Key: prefix + req.object };
  let headers = {};
  if (["put", "createMultipart", "uploadPart", "head", "get"].includes(req.op)) {
    const sse = req.sseC;
    if (!sse) throw new Error("SSE-C is required");
    const key = Buffer.from(sse.key, "base64");
    if (key.length !== 32 || createHash("md5").update(key).digest("base64") !== sse.keyMd5) throw new Error("bad SSE-C key");
    Object.assign(input, { SSECustomerAlgorithm: "AES256", SSECustomerKey: sse.key, SSECustomerKeyMD5: sse.keyMd5 });
    headers = {
      "x-amz-server-side-encryption-customer-algorithm": "AES256",
      "x-amz-server-side-encryption-customer-key": sse.key,
      "x-amz-server-side-encryption-customer-key-MD5": sse.keyMd5,
    };
  }
  if (["uploadPart", "completeMultipart", "abortMultipart"].includes(req.op)) input.UploadId = req.uploadId;
  if (req.op === "uploadPart") input.PartNumber = req.partNumber;
  // The presigner keeps x-amz-server-side-encryption-* headers signed (not hoisted).
  const url = await getSignedUrl(s3, new Command(input), { expiresIn: 300 });
  return { method, url, headers };
}
