// Generated from the s3seal crate by `S3SEAL_WRITE_JS=1 cargo test --test js_contract`;
// tests/js_contract.rs fails when it drifts from the Rust lists. Do not edit.

/** Stable error codes (`err.code`) of every error s3seal throws (s3seal::CODES). */
export type S3sealErrorCode =
  | "WrongKey"
  | "Corrupt"
  | "Truncated"
  | "NotSealed"
  | "UnsupportedVersion"
  | "Malformed"
  | "InvalidKey"
  | "InvalidBase64"
  | "InvalidInput"
  | "KeySource"
  | "InsecureEndpoint"
  | "NameMismatch"
  | "SignerMismatch"
  | "BadSignature"
  | "Random"
  | "Engine"
  | "Http"
  | "Network"
  | "Presign"
  | "Expired"
  | "Aborted"
  | "WeakPassphrase"
  | "ShareExpired"
  | "DownloadLimit"
  | "ShareGone";

/** The operations of the presign contract (s3seal::transfer::presign::Op). */
export type PresignOp =
  | "put"
  | "createMultipart"
  | "uploadPart"
  | "completeMultipart"
  | "abortMultipart"
  | "head"
  | "get";
