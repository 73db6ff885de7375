// The second thread of the two-thread floor in bench/worker.js: runs
// `floorLoop` over the half of the data it is given.
import { floorLoop } from "./raw.js";

let run;
onmessage = async ({ data: msg }) => {
  if (msg.op === "prepare") {
    run = await floorLoop(msg.kind, msg.bytes, msg.window);
    postMessage("ready");
  } else {
    postMessage(await run());
  }
};
