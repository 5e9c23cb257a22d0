"""A codec server: lets the Temporal UI and CLI show pushsecret's encrypted payloads.

It implements Temporal's remote codec protocol (``POST /encode`` and ``POST /decode`` with a
JSON ``{"payloads": [...]}`` body) with CORS for the UI's origin. It decrypts anything it is
sent, so run it where only operators reach it and set ``token`` to require
``Authorization: Bearer <token>`` (the UI can be configured to pass the user's token).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec


def build_app(
    codec: PayloadCodec, *, origins: Sequence[str] = (), token: str | None = None
) -> web.Application:
    """An aiohttp application serving /encode and /decode for ``codec``."""

    def cors(req: web.Request, resp: web.StreamResponse) -> web.StreamResponse:
        origin = req.headers.get("Origin")
        if origin and (origin in origins or "*" in origins):
            resp.headers["Access-Control-Allow-Origin"] = origin
            resp.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
            resp.headers["Access-Control-Allow-Headers"] = "content-type,x-namespace,authorization"
        return resp

    def handler(
        fn: Callable[[Sequence[Payload]], Awaitable[list[Payload]]],
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(req: web.Request) -> web.StreamResponse:
            if token is not None and req.headers.get("Authorization") != f"Bearer {token}":
                return cors(req, web.Response(status=401))
            body = Payloads()
            json_format.Parse(await req.text(), body)
            result = Payloads(payloads=await fn(body.payloads))
            return cors(req, web.json_response(text=json_format.MessageToJson(result)))

        return handle

    async def options(req: web.Request) -> web.StreamResponse:
        return cors(req, web.Response())

    app = web.Application()
    app.router.add_post("/encode", handler(codec.encode))
    app.router.add_post("/decode", handler(codec.decode))
    app.router.add_route("OPTIONS", "/{tail:.*}", options)
    return app
