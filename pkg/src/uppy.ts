// s3seal/uppy: an Uppy (6) uploader that seals each file in the browser and
// uploads it through presigned URLs, with s3seal's multipart, retries and
// resume. Options are shaped like @uppy/aws-s3's: who the files are sealed
// for, and how to presign. @uppy/core is a peer dependency.
import { BasePlugin, EventManager } from "@uppy/core";
import type { Body, Meta, PluginOpts, Uppy, UppyFile } from "@uppy/core";
import { filterFilesToEmitUploadStarted, filterFilesToUpload } from "@uppy/core/utils";

import { isS3sealError, presignWith, ready, upload } from "./index.js";
import type { Key, PresignFunction, Receipt, Recipient, ResumeStore, UploadCommon, Uploaded } from "./index.js";

/** The options of `S3sealUpload`. Exactly one of `key`, `passphrase` or
 * `recipient`; `presign` or `endpoint` (default "/api/presign"). */
export interface S3sealUploadOptions extends PluginOpts {
  /** A root key (a file key cannot seal). */
  key?: Key;
  /** A passphrase (check it with `passphraseStrength` first). */
  passphrase?: string;
  /** An upload form: sealed to this public key (`s3seal1…`); each file's
   * upload result carries its receipt, and the uploader keeps no key. */
  recipient?: Recipient | string;
  /** Asks the backend for one presigned request (the s3seal contract). */
  presign?: PresignFunction;
  /** Or a backend speaking the contract at this URL. */
  endpoint?: string;
  /** Files uploading at once (default 2; each also runs parts in parallel). */
  limit?: number;
  multipartThreshold?: UploadCommon["multipartThreshold"];
  partSize?: UploadCommon["partSize"];
  concurrency?: UploadCommon["concurrency"];
  retries?: UploadCommon["retries"];
  /** Resume interrupted multipart uploads (not with a recipient). */
  resumeStore?: ResumeStore;
}

/** What lands in Uppy's upload result (`file.response.body`) for each file. */
export interface S3sealUploadBody extends Body {
  objectName: string;
  objectId: string;
  /** Bytes stored. */
  size: number;
  /** `s3seal-file-…` for a share link (sealed with a key or passphrase). */
  fileKey?: string;
  /** Sealed to a recipient: the receipt (file size and SHA-256 before sealing). */
  plaintextSize?: number;
  sha256?: string;
}

/** Uploads `limit` files at once, each to completion. */
async function inTurn<T>(items: T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await run(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

export default class S3sealUpload<M extends Meta, B extends S3sealUploadBody> extends BasePlugin<S3sealUploadOptions, M, B> {
  static VERSION = "0.1.0";

  constructor(uppy: Uppy<M, B>, opts: S3sealUploadOptions) {
    super(uppy, opts);
    this.type = "uploader";
    this.id = this.opts.id ?? "S3seal";
    const given = [opts.key, opts.passphrase, opts.recipient].filter((v) => v !== undefined).length;
    if (given !== 1) throw new TypeError("S3sealUpload: give exactly one of key, passphrase or recipient");
  }

  #presign(): PresignFunction {
    return this.opts.presign ?? presignWith(this.opts.endpoint ?? "/api/presign");
  }

  #upload = async (fileIDs: string[]): Promise<void> => {
    await ready();
    const files = filterFilesToUpload(this.uppy.getFilesByIds(fileIDs));
    this.uppy.emit("upload-start", filterFilesToEmitUploadStarted(files));
    await inTurn(files, this.opts.limit ?? 2, (file) => this.#uploadFile(file));
  };

  async #uploadFile(file: UppyFile<M, B>): Promise<void> {
    const events = new EventManager(this.uppy);
    const controller = new AbortController();
    // Removing the file or cancelling all stops its upload; s3seal then
    // aborts the multipart upload, so nothing is left in the bucket.
    events.onFileRemove(file.id, () => controller.abort());
    events.onCancelAll(file.id, () => controller.abort());
    const { key, passphrase, recipient, multipartThreshold, partSize, concurrency, retries, resumeStore } = this.opts;
    const common = {
      presign: this.#presign(),
      name: (file.meta.name as string | undefined) ?? file.name,
      type: (file.meta.type as string | undefined) ?? file.type,
      multipartThreshold,
      partSize,
      concurrency,
      retries,
      signal: controller.signal,
      onProgress: ({ bytesSent, total }: { bytesSent: number; total: number }) => {
        const current = this.uppy.getFile(file.id);
        if (!current) return;
        const size = file.size ?? total;
        this.uppy.emit("upload-progress", current, {
          uploadStarted: current.progress.uploadStarted ?? Date.now(),
          // Sealed bytes on the wire, as a share of the file's size.
          bytesUploaded: total > 0 ? (bytesSent / total) * size : 0,
          bytesTotal: size,
        });
      },
    };
    try {
      let body: S3sealUploadBody;
      if (recipient !== undefined) {
        const receipt: Receipt = await upload(file.data as Blob, { ...common, recipient });
        body = { ...receipt };
      } else {
        const uploaded: Uploaded =
          key !== undefined
            ? await upload(file.data as Blob, { ...common, key, resumeStore })
            : await upload(file.data as Blob, { ...common, passphrase: passphrase as string, resumeStore });
        body = {
          objectName: uploaded.objectName,
          objectId: uploaded.objectId,
          size: uploaded.size,
          fileKey: uploaded.fileKey.toText(),
        };
        uploaded.fileKey.free();
      }
      this.uppy.emit("upload-success", this.uppy.getFile(file.id), { status: 200, body: body as B, uploadURL: undefined });
    } catch (err) {
      // Cancelled by the user: Uppy already forgot the file.
      if (controller.signal.aborted || (err as { name?: string })?.name === "AbortError") return;
      const error = err instanceof Error ? err : new Error(String(err));
      if (isS3sealError(error)) this.uppy.log(`[S3seal] ${error.code}: ${error.message}`, "error");
      this.uppy.emit("upload-error", this.uppy.getFile(file.id), error);
    } finally {
      events.remove();
    }
  }

  install(): void {
    this.uppy.addUploader(this.#upload);
  }

  uninstall(): void {
    this.uppy.removeUploader(this.#upload);
  }
}

export { S3sealUpload };
