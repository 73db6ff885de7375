import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Nothing s3seal-specific: Vite ships the wasm and the workers by itself.
// `make demo` serves this build (S3SEAL_WWW=dist) with its presign backend.
export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist" },
});
