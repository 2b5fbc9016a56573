"""The media plane: peer connections, producers, consumers, fan-out, the room clock.

Knows nothing of names, chat, roles or rules: signaling tells it who publishes
and it forwards packets.
"""

from .clock import FRAME_MS, FRAME_SAMPLES, RoomClock, server_ms
from .consumer import Consumer
from .producer import TALKING_LEVEL, Counters, MusicSource, Producer
from .publisher import PublisherPeer
from .router import Router
from .sdp import NEGOTIATION_ERRORS, SdpError, check_publish_offer
from .subscriber import SubscriberPeer
from .worker import MediaWorker

__all__ = [
    "FRAME_MS",
    "FRAME_SAMPLES",
    "Consumer",
    "Counters",
    "MediaWorker",
    "MusicSource",
    "NEGOTIATION_ERRORS",
    "Producer",
    "PublisherPeer",
    "RoomClock",
    "Router",
    "SdpError",
    "SubscriberPeer",
    "TALKING_LEVEL",
    "check_publish_offer",
    "server_ms",
]
