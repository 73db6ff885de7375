// The package loads its .wasm with `new URL(…, import.meta.url)`; Vite's dev
// pre-bundler would rewrite that, so keep s3seal out of it (builds are fine).
export default {
  optimizeDeps: { exclude: ["s3seal"] },
};
