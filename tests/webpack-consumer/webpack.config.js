// Nothing s3seal-specific: webpack 5 ships the wasm and the workers by itself.
import path from "node:path";

export default {
  mode: "production",
  entry: "./src/main.js",
  output: { path: path.resolve("dist"), clean: true },
  // The wasm module is over webpack's default asset hint (244 KiB).
  performance: { hints: false },
};
