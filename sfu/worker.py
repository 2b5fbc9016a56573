"""The media plane of the process: routers, shared counters and the RTCP loop."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Sequence

from .ice import gather_on
from .producer import Counters, MusicSource
from .router import Router


class MediaWorker:
    """Creates routers (one per room) and runs what they share.

    One background loop sends RTCP sender reports for every consumer of every
    router about once a second, instead of a task per sender.
    """

    def __init__(self, media_addresses: Sequence[str], ice_servers: Sequence[str]) -> None:
        gather_on(media_addresses)
        self.ice_servers = list(ice_servers)
        self.counters = Counters()
        self.routers: set[Router] = set()
        self._rtcp_task: asyncio.Task[None] | None = None

    def create_router(self, music: MusicSource) -> Router:
        router = Router(music, self.ice_servers, self.counters)
        self.routers.add(router)
        router.once("close", lambda: self.routers.discard(router))
        router.start()
        return router

    def start(self) -> None:
        if self._rtcp_task is None:
            self._rtcp_task = asyncio.get_running_loop().create_task(self._rtcp_loop())

    async def _rtcp_loop(self) -> None:
        while True:
            await asyncio.sleep(0.5 + random.random())
            for router in list(self.routers):
                router.send_sender_reports()

    async def close(self) -> None:
        await asyncio.gather(*(r.close() for r in list(self.routers)), return_exceptions=True)
        if self._rtcp_task is not None:
            self._rtcp_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._rtcp_task
            self._rtcp_task = None
