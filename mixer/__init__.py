"""OnAir's music: library, decoding, the room's rotation and its Opus encoding.

Imports av, numpy and pyee only; never ``sfu`` or ``signaling``. ``RoomMusic``
satisfies the SFU's ``MusicSource`` protocol (``next_frame(now_ms) -> bytes``)
structurally.
"""

from .audio import CHANNELS, FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE
from .decoder import DecodeError, Decoder
from .encoder import OpusFrameEncoder
from .library import AUDIO_EXTENSIONS, Library, Track
from .room_music import RoomMusic
from .synth import ensure_demo_library

__all__ = [
    "AUDIO_EXTENSIONS",
    "CHANNELS",
    "FRAME_MS",
    "FRAME_SAMPLES",
    "SAMPLE_RATE",
    "DecodeError",
    "Decoder",
    "Library",
    "OpusFrameEncoder",
    "RoomMusic",
    "Track",
    "ensure_demo_library",
]
