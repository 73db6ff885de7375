// A throwaway app that uses the packed npm package the way a user would.
import { Key, Recipient, cipherWorkers, isS3sealError, openBlob, ready, sealBlob, sseS3Headers, upload } from "s3seal";
import type { Metadata, Receipt, S3sealErrorCode, Uploaded } from "s3seal";

// The identity and public key of the checked-in vectors (docs/FORMAT.md §8.1).
const IDENTITY = "S3SEAL-SECRET-KEY-1GPQ5YS6YG4RYWJZFFF95CN2WFAG9Z5JN2324V46CT9D9KHZATE0SFU6CTL";
const RECIPIENT = "s3seal10xnrrmk7r0uunrcjqvkdatwsu7s8jwv0c7rt3rxggmkgntu955dql6lxpk";

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

  // Sealed to a public key: no key in hand afterwards; the identity opens it.
  const toOrg = await sealBlob(new File(["for the organisation"], "form.txt"), { recipient: RECIPIENT });
  // @ts-expect-error sealing to a recipient yields no file key
  void toOrg.fileKey;
  const identity = Key.fromText(IDENTITY);
  const fromOrg = await openBlob(toOrg.blob, identity);
  // Typed overloads: a recipient upload resolves to a Receipt, a keyed one to Uploaded.
  const receiptOf: (f: Blob) => Promise<Receipt> = (f) => upload(f, { recipient: Recipient.fromText(RECIPIENT) });
  const uploadedOf: (f: Blob) => Promise<Uploaded> = (f) => upload(f, { passphrase: "p" });
  void receiptOf;
  void uploadedOf;
  // @ts-expect-error a key and a recipient at once
  void (() => sealBlob(new Blob([]), { key, recipient: RECIPIENT }));
  let typo: S3sealErrorCode | "none" = "none";
  try {
    Recipient.fromText(RECIPIENT.replace("0xnrr", "0xnqr"));
  } catch (err) {
    if (isS3sealError(err)) typo = err.code;
  }
  const workers: number = await cipherWorkers(1);
  // A form-mode upload large enough for the hash worker (to the test's PUT route).
  const big = new Uint8Array(9 << 20).map((_, i) => (31 * i + 7) & 0xff);
  const presign = ({ object }: { object: string }) => ({ method: "PUT", url: `/upload?name=${object}`, headers: {} });
  const receipt = await upload(new File([big], "big.bin"), { recipient: Recipient.fromText(RECIPIENT), presign });
  out.textContent = JSON.stringify({
    text: await opened.blob.text(),
    name: opened.metadata.name,
    type: opened.metadata.type,
    size: opened.metadata.size,
    code,
    objectName: sealed.objectName,
    sse: headers["x-amz-server-side-encryption"],
    recipientText: await fromOrg.blob.text(),
    recipientObjectName: toOrg.objectName,
    typo,
    cipherWorkers: workers,
    receiptSha256: receipt.sha256,
  });
  identity.free();
  sealed.fileKey.free();
  key.free();
}

main().catch((err: unknown) => {
  out.textContent = `error: ${String(err)}`;
});
