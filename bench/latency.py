"""A TCP proxy on loopback that delays every chunk by a fixed time each way.

Loopback answers in ~50 µs; Redis in the same Azure region answers in ~0.5-1 ms. Round trips
are what batching saves, so benchmarks that compare batching with per-item round trips are
also run through this, to show the ratio a deployment sees. (tc netem is not available here.)
"""

from __future__ import annotations

import asyncio
import threading


class DelayProxy:
    def __init__(self, target_port: int, *, delay_s: float):
        self.target_port, self.delay_s = target_port, delay_s
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.port = 0
        threading.Thread(target=self._run, daemon=True).start()
        self.ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await asyncio.sleep(self.delay_s)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
