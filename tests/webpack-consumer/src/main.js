// A throwaway webpack 5 app that uses the packed npm package with no loader
// and no webpack configuration beyond an entry: the wasm and both workers
// come from `new URL(..., import.meta.url)`, which webpack 5 understands.
import { Key, WorkerClient, cipherWorkers, openBlob, ready, sealBlob } from "s3seal";

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
  out.textContent = JSON.stringify({ text: await opened.blob.text(), name: opened.metadata.name, worker: await viaWorker.blob.text(), workers });
}
main().catch((err) => (out.textContent = `error: ${err}`));
