// A throwaway app that uses the packed npm package the way a user would.
import { Key, isS3sealError, openBlob, ready, sealBlob, sseS3Headers } from "s3seal";
import type { Metadata, S3sealErrorCode } from "s3seal";

const out = document.querySelector<HTMLPreElement>("#result")!;

async function main(): Promise<void> {
  // The three lines a page needs.
  await ready();
  const key = Key.generate();
  const sealed = await sealBlob(new File(["hello, typed world"], "hello.txt", { type: "text/plain" }), { key });

  const opened: { blob: Blob; metadata: Metadata } = await openBlob(sealed.blob, key);
  let code: S3sealErrorCode | "none" = "none";
  try {
    await openBlob(sealed.blob, Key.generate());
  } catch (err) {
    if (isS3sealError(err)) code = err.code;
  }
  // The typings are real: a missing key is a type error.
  // @ts-expect-error options.key is required
  void (() => sealBlob(new Blob([]), {}));
  const headers: Record<string, string> = sseS3Headers();
  out.textContent = JSON.stringify({
    text: await opened.blob.text(),
    name: opened.metadata.name,
    type: opened.metadata.type,
    size: opened.metadata.size,
    code,
    objectName: sealed.objectName,
    sse: headers["x-amz-server-side-encryption"],
  });
  sealed.fileKey.free();
  key.free();
}

main().catch((err: unknown) => {
  out.textContent = `error: ${String(err)}`;
});
