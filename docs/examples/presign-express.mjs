// The s3seal presign API as Express middleware, on the policy and signer of
// presign-aws-sdk.mjs (caps signed into every PUT, no overwrites, SSE-C
// required, object names confined to a prefix):
//   npm install express @aws-sdk/client-s3 @aws-sdk/s3-request-presigner
//   app.use(presignRouter({ allowedOrigin: "https://your.site", authorized: (req) => Boolean(req.session?.user) }));
// Who may presign is your session check; CORS is answered for one origin
// only (never "*": a presign backend any site may call is an open file host).
import express from "express";

import { authorized as bearerToken, presign } from "./presign-aws-sdk.mjs";

/** A router serving POST /api/presign. `authorized(req)` is YOUR session
 * check (default: the PRESIGN_TOKEN bearer token of presign-aws-sdk.mjs). */
export function presignRouter({ allowedOrigin, authorized = (req) => bearerToken(req.headers), path = "/api/presign" }) {
  const router = express.Router();
  const cors = (req, res, next) => {
    if (req.headers.origin === allowedOrigin) {
      res.set({ "access-control-allow-origin": allowedOrigin, "access-control-allow-headers": "content-type, authorization", vary: "origin" });
    }
    next();
  };
  const refuse = (res, status, code, message) => res.status(status).set("cache-control", "no-store").json({ error: { code, message } });
  router.options(path, cors, (req, res) => res.sendStatus(204));
  router.post(path, cors, (req, res, next) => {
    if (req.headers.origin !== undefined && req.headers.origin !== allowedOrigin) return refuse(res, 403, "CrossOrigin", "requests from another origin are refused");
    if (!authorized(req)) return refuse(res, 401, "Unauthorized", "sign in first");
    next();
  });
  // After the checks: a stranger's body is never parsed.
  router.post(path, express.json({ limit: "16kb" }), async (req, res) => {
    try {
      res.set("cache-control", "no-store").json(await presign(req.body));
    } catch (err) {
      refuse(res, err.status ?? 400, err.code ?? "BadRequest", String(err.message ?? err));
    }
  });
  // Bodies too large or not JSON: the contract's error shape.
  router.use(path, (err, req, res, next) => {
    if (err.type === "entity.too.large") return refuse(res, 413, "TooLarge", "a presign request is at most 16 KiB");
    if (err.type === "entity.parse.failed") return refuse(res, 400, "BadRequest", "the body must be JSON");
    next(err);
  });
  return router;
}

// `node presign-express.mjs 127.0.0.1:8081` runs it on its own.
if (import.meta.url === `file://${process.argv[1]}`) {
  const [host, port] = (process.argv[2] ?? "127.0.0.1:8081").split(":");
  const app = express();
  app.disable("x-powered-by");
  app.use(presignRouter({ allowedOrigin: process.env.ALLOWED_ORIGIN }));
  const server = app.listen(Number(port), host, () => console.error(`listening on http://${host}:${server.address().port}`));
}
