"""The media plane of the process: the routers and the counters they share."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from .ice import gather_on
from .producer import Counters, MusicSource
from .router import Router


class MediaWorker:
    """Creates routers (one per room) and closes them.

    Each router sends its own RTCP sender reports from its clock, a slice of
    its subscribers per tick, so no second loop competes with the music.
    """

    def __init__(self, media_addresses: Sequence[str], ice_servers: Sequence[str]) -> None:
        gather_on(media_addresses)
        self.ice_servers = list(ice_servers)
        self.counters = Counters()
        self.routers: set[Router] = set()

    def create_router(self, music: MusicSource) -> Router:
        router = Router(music, self.ice_servers, self.counters)
        self.routers.add(router)
        router.once("close", lambda: self.routers.discard(router))
        router.start()
        return router

    async def close(self) -> None:
        await asyncio.gather(*(r.close() for r in list(self.routers)), return_exceptions=True)
