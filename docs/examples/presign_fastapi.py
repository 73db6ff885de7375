"""The s3seal presign API as a FastAPI app, on the policy and signer of
presign_boto3.py (caps signed into every PUT, no overwrites, SSE-C required,
object names confined to a prefix). Run:

    pip install fastapi uvicorn boto3
    ALLOWED_ORIGIN=https://your.site PRESIGN_TOKEN=… python3 presign_fastapi.py 127.0.0.1:8081
    # or mount `app` (or `router`) in your own FastAPI application

Who may presign is your session check: replace `authorized` (a dependency
of the route); CORS is answered for one origin only.
"""

import json
import socket
import sys

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

import presign_boto3 as policy

router = APIRouter()


def cors(request: Request) -> dict:
    origin = request.headers.get("origin")
    if policy.ALLOWED_ORIGIN and origin == policy.ALLOWED_ORIGIN:
        return {"access-control-allow-origin": origin, "access-control-allow-headers": "content-type, authorization", "vary": "origin"}
    return {}


def refuse(request: Request, status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status,
                        headers={**cors(request), "cache-control": "no-store"})


def authorized(request: Request) -> bool:
    """YOUR SESSION CHECK GOES HERE (a session cookie, a signed-in user).
    This example accepts the PRESIGN_TOKEN bearer token of presign_boto3.py."""
    return policy.authorized(request.headers)


@router.options("/api/presign")
async def preflight(request: Request) -> Response:
    return Response(status_code=204, headers=cors(request))


@router.post("/api/presign")
async def presign(request: Request, allowed: bool = Depends(authorized)) -> Response:
    origin = request.headers.get("origin")
    if origin is not None and origin != policy.ALLOWED_ORIGIN:
        return refuse(request, 403, "CrossOrigin", "requests from another origin are refused")
    if not allowed:
        return refuse(request, 401, "Unauthorized", "sign in first")
    # Read at most MAX_BODY + 1 bytes: a larger body is refused unread.
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > policy.MAX_BODY:
            return refuse(request, 413, "TooLarge", "a presign request is at most 16 KiB")
    try:
        req = json.loads(body)
        # boto3 blocks (HEAD, ListParts): off the event loop.
        out = await run_in_threadpool(policy.presign, req)
    except policy.Refused as err:
        return refuse(request, err.status, err.code, str(err))
    except (ValueError, KeyError, TypeError) as err:
        return refuse(request, 400, "BadRequest", str(err))
    return JSONResponse(out, headers={**cors(request), "cache-control": "no-store"})


app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
app.include_router(router)

if __name__ == "__main__":
    import uvicorn

    host, port = (sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:8081").rsplit(":", 1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, int(port)))
    sock.listen(128)  # connections queue from now on, before uvicorn runs
    print(f"listening on http://{host}:{sock.getsockname()[1]}", file=sys.stderr, flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[sock])
