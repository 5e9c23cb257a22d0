"""Run an aiohttp application on its own thread and event loop, for sync callers."""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web


class AiohttpThread:
    """``start()`` serves ``app`` on 127.0.0.1 (a free port) and returns its base URL."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self.url = ""

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._thread = threading.Thread(
            target=self._run, args=(host, port), daemon=True, name="aiohttp"
        )
        self._thread.start()
        if not self._ready.wait(30) or not self.url:
            raise RuntimeError("the aiohttp server did not start")
        return self.url

    def _run(self, host: str, port: int) -> None:
        async def main() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            runner = web.AppRunner(self._app)
            await runner.setup()
            site = web.TCPSite(runner, host, port)
            await site.start()
            self.url = f"http://{host}:{runner.addresses[0][1]}"
            self._ready.set()
            try:
                await self._stop.wait()
            finally:
                await runner.cleanup()

        try:
            asyncio.run(main())
        finally:
            self._ready.set()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)
