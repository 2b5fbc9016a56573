"""OnAir's music: library and loudness, decoding, the room's queue and rotation, crossfades,
ducking under voices, a true-peak limiter, and the Opus encoding.

Imports av, numpy and pyee only; never ``sfu`` or ``signaling``. ``RoomMusic``
satisfies the SFU's ``MusicSource`` protocol (``next_frame(now_ms) -> bytes``)
structurally.
"""

from .audio import CHANNELS, FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE
from .decoder import DecodeError, Decoder
from .ducker import Ducker
from .encoder import OpusFrameEncoder
from .library import AUDIO_EXTENSIONS, Library, Track, track_id_for
from .limiter import PeakLimiter
from .loudness import LoudnessMeter, integrated_loudness, measure_file
from .play_queue import PlayQueue, QueueEntry
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
    "Ducker",
    "Library",
    "LoudnessMeter",
    "OpusFrameEncoder",
    "PeakLimiter",
    "PlayQueue",
    "QueueEntry",
    "RoomMusic",
    "Track",
    "ensure_demo_library",
    "integrated_loudness",
    "measure_file",
    "track_id_for",
]
