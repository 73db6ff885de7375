// A throwaway webpack 5 app that uses the packed npm package with no loader
// and no webpack configuration beyond an entry: the wasm and the workers
// come from `new URL(..., import.meta.url)`, which webpack 5 understands.
import { Key, Recipient, WorkerClient, cipherWorkers, openBlob, ready, sealBlob, upload } from "s3seal";

// The public key of the checked-in vectors (docs/FORMAT.md §8.1).
const RECIPIENT = "s3seal10xnrrmk7r0uunrcjqvkdatwsu7s8jwv0c7rt3rxggmkgntu955dql6lxpk";

const out = document.querySelector("#result");
async function main() {
  await ready();
  const workers = await cipherWorkers(1);
  const key = Key.generate();
  const sealed = await sealBlob(new File(["hello, webpack"], "hello.txt", { type: "text/plain" }), { key });
  const opened = await openBlob(sealed.blob, key);
  const client = new WorkerClient(new Worker(new URL("s3seal/worker", import.meta.url), { type: "module" }));
  const viaWorker = await client.open(sealed.blob, { keyText: key.toText() });
  client.terminate();
  // A form-mode upload large enough for the hash worker (to the test's PUT route).
  const big = new Uint8Array(9 << 20).map((_, i) => (31 * i + 7) & 0xff);
  const presign = ({ object }) => ({ method: "PUT", url: `/upload?name=${object}`, headers: {} });
  const receipt = await upload(new File([big], "big.bin"), { recipient: Recipient.fromText(RECIPIENT), presign });
  out.textContent = JSON.stringify({
    text: await opened.blob.text(),
    name: opened.metadata.name,
    worker: await viaWorker.blob.text(),
    workers,
    receiptSha256: receipt.sha256,
  });
}
main().catch((err) => (out.textContent = `error: ${err}`));
