// A presign backend for s3seal in Node with the AWS SDK for JavaScript v3:
// the JSON API of `s3seal serve` (see the README). `presign(req)` is the
// policy and signer; `handler()` wires it to node:http (or adapt it to any
// framework: POST body in, JSON out).
//   npm install @aws-sdk/client-s3 @aws-sdk/s3-request-presigner
// It caps sizes (signed into every PUT), never presigns a write over an
// existing object, answers CORS for one origin only, and leaves who may call
// it to your session check (`authorized`).
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { createHash, timingSafeEqual } from "node:crypto";

const bucket = process.env.S3SEAL_BUCKET ?? "s3seal";
const prefix = process.env.S3SEAL_PREFIX ?? "uploads/";
const maxSize = Number(process.env.S3SEAL_MAX_SIZE ?? 5 * 2 ** 30);
const MIN_PART_SIZE = 5 * 2 ** 20;
const MAX_PART_SIZE = 5 * 2 ** 30;
const MAX_BODY = 16 * 1024;
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

class Refused extends Error {
  constructor(status, code, message) {
    super(message);
    Object.assign(this, { status, code });
  }
}

const digest = (text) => createHash("sha256").update(text).digest();

/**
 * YOUR SESSION CHECK GOES HERE: decide from the request's headers (session
 * cookie, bearer token) whether this caller may upload or download. This
 * example accepts one shared bearer token from PRESIGN_TOKEN, compared in
 * constant time; with none configured it refuses everyone.
 */
export function authorized(headers) {
  const token = process.env.PRESIGN_TOKEN ?? "";
  return Boolean(token) && timingSafeEqual(digest(headers.authorization ?? ""), digest(`Bearer ${token}`));
}

/** 404 is the only "free": an SSE-C object answers 400 to a HEAD without its key. */
async function keyIsFree(key) {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return false;
  } catch (err) {
    return err.$metadata?.httpStatusCode === 404;
  }
}

/** Each part URL signs its own length; only here is the total known. */
async function checkParts(key, uploadId, declared) {
  const parts = [];
  let PartNumberMarker;
  do {
    const page = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumberMarker }));
    parts.push(...(page.Parts ?? []));
    PartNumberMarker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
  } while (PartNumberMarker);
  const numbers = parts.map((p) => p.PartNumber).sort((a, b) => a - b);
  const total = parts.reduce((sum, p) => sum + p.Size, 0);
  let problem;
  if (!parts.length || numbers.some((n, i) => n !== i + 1)) problem = "the upload's parts are not numbered 1..n";
  else if (total > maxSize) problem = `object too large: its parts hold ${total} bytes > ${maxSize}`;
  else if (parts.some((p) => p.PartNumber !== numbers.at(-1) && p.Size < MIN_PART_SIZE)) problem = "every part but the last must be at least 5 MiB";
  else if (declared !== total) problem = `the parts hold ${total} bytes, not the declared ${declared}`;
  if (problem) {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
    throw new Refused(403, "Refused", `${problem}; the upload was aborted`);
  }
}

/** One presign request of the s3seal JSON API -> { method, url, headers }. */
export async function presign(req) {
  const entry = COMMANDS[req.op];
  if (!entry || !/^[0-9a-f]{32}(\.[0-9a-f]{64})?\.s3seal$/.test(req.object ?? "")) throw new Refused(403, "Refused", "bad op or object name");
  const [Command, method] = entry;
  const key = prefix + req.object;
  const input = { Bucket: bucket, Key: key };
  const headers = {};
  if (["put", "createMultipart", "uploadPart", "head", "get"].includes(req.op)) {
    const sse = req.sseC;
    if (!sse) throw new Refused(403, "Refused", "SSE-C is required");
    const raw = Buffer.from(sse.key, "base64");
    if (raw.length !== 32 || createHash("md5").update(raw).digest("base64") !== sse.keyMd5) throw new Refused(403, "Refused", "bad SSE-C key");
    Object.assign(input, { SSECustomerAlgorithm: "AES256", SSECustomerKey: sse.key, SSECustomerKeyMD5: sse.keyMd5 });
    Object.assign(headers, {
      "x-amz-server-side-encryption-customer-algorithm": "AES256",
      "x-amz-server-side-encryption-customer-key": sse.key,
      "x-amz-server-side-encryption-customer-key-MD5": sse.keyMd5,
    });
  }
  const size = req.size;
  if (size !== undefined && !(Number.isSafeInteger(size) && size >= 0 && size <= maxSize)) throw new Refused(403, "Refused", `size must be 0..${maxSize} bytes`);
  if (["put", "uploadPart"].includes(req.op)) {
    if (size === undefined || size > MAX_PART_SIZE) throw new Refused(403, "Refused", "a size of at most 5 GiB is required");
    input.ContentLength = size; // signed: S3 refuses any other length
  }
  if (["uploadPart", "completeMultipart", "abortMultipart"].includes(req.op)) input.UploadId = req.uploadId;
  if (req.op === "uploadPart") input.PartNumber = req.partNumber;
  if (["put", "completeMultipart"].includes(req.op)) {
    if (!(await keyIsFree(key))) throw new Refused(409, "ObjectExists", "an object with this name exists");
    if (req.op === "completeMultipart") {
      // Required: unsigned, parts added after the check would go uncounted.
      if (size === undefined) throw new Refused(403, "Refused", "completeMultipart needs the object's total size");
      await checkParts(key, req.uploadId, size);
      // AWS refuses (400) to complete if the parts do not add up to it.
      input.MpuObjectSize = size;
      headers["x-amz-mp-object-size"] = String(size);
    }
    // S3 itself refuses to replace an object where it honours this (AWS).
    input.IfNoneMatch = "*";
    headers["if-none-match"] = "*";
  }
  // The presigner keeps x-amz-server-side-encryption-* headers signed (not
  // hoisted); other x-amz-* headers it moves into the query unless told not to,
  // and the client sends them as headers.
  const url = await getSignedUrl(s3, new Command(input), { expiresIn: 300, unhoistableHeaders: new Set(["x-amz-mp-object-size"]) });
  return { method, url, headers };
}

/** A node:http handler for POST /api/presign; CORS for `allowedOrigin` only (never "*"). */
export function handler({ allowedOrigin }) {
  return async (req, res) => {
    const cors = req.headers.origin === allowedOrigin ? { "access-control-allow-origin": allowedOrigin, "access-control-allow-headers": "content-type, authorization", vary: "origin" } : {};
    const reply = (status, out) => res.writeHead(status, { ...cors, "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(out));
    if (req.method === "OPTIONS") return res.writeHead(204, cors).end();
    try {
      if (req.headers.origin !== undefined && req.headers.origin !== allowedOrigin) throw new Refused(403, "CrossOrigin", "requests from another origin are refused");
      if (!authorized(req.headers)) throw new Refused(401, "Unauthorized", "sign in first");
      let body = "";
      for await (const chunk of req) {
        body += chunk;
        if (body.length > MAX_BODY) throw new Refused(413, "TooLarge", "a presign request is at most 16 KiB");
      }
      reply(200, await presign(JSON.parse(body)));
    } catch (err) {
      if (err instanceof Refused) reply(err.status, { error: { code: err.code, message: err.message } });
      else reply(400, { error: { code: "BadRequest", message: String(err.message ?? err) } });
    }
  };
}
