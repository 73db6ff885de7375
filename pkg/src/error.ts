// The one way s3seal makes its errors, shared by the package's modules and
// workers (a module of its own, so that none imports index.js for it).
import type { S3sealErrorCode } from "./codes.js";

/** An error thrown by s3seal: a real `Error` with `name === "S3sealError"`. */
export interface S3sealError extends Error {
  /** "AbortError" when cancelled through an AbortSignal (code "Aborted"). */
  name: "S3sealError" | "AbortError";
  code: S3sealErrorCode;
  /** HTTP status, for `Http`, `Expired` and `Presign` errors. */
  status?: number;
  /** Multipart part number, for `Http` errors of one part. */
  partNumber?: number;
}

/** True for errors thrown by s3seal (they carry a stable `code`). */
export function isS3sealError(err: unknown): err is S3sealError {
  return err instanceof Error && err.name === "S3sealError" && typeof (err as { code?: unknown }).code === "string";
}

export function s3sealError(code: S3sealErrorCode, message: string): S3sealError {
  const err = new Error(message) as S3sealError;
  err.name = "S3sealError";
  err.code = code;
  return err;
}
