"""Streaming decode of one audio file into the mixer's format (48 kHz stereo float32).

The file is demuxed and decoded packet by packet, so memory stays flat
whatever its length. Decoded audio goes through libswresample
(``av.AudioResampler``); only the remainder of the last decoded frame is
buffered between reads. Mono sources are resampled as mono and then copied to
both channels (same level on each, no pan law); anything with more channels is
downmixed to stereo by libswresample.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np

from .audio import CHANNELS, FRAME_SAMPLES, SAMPLE_RATE, SAMPLES_PER_MS, empty, silence

log = logging.getLogger(__name__)

_PREROLL_MS = 100.0


class DecodeError(Exception):
    """The file cannot be opened or holds no audio stream."""


class Decoder:
    """Decodes one file into ``(n, 2)`` float32 buffers at 48 kHz, a little at a time.

    ``read(n)`` returns up to ``n`` samples (fewer only at the end of the file),
    ``read_frame()`` exactly one 960-sample frame (the last one padded with
    silence) or ``None`` at the end; iterating yields frames. ``position_ms`` is
    the position of the next sample to be read. A decode error in the middle of
    a file ends it early (logged) rather than raising.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self._container: Any = av.open(str(self.path))
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise DecodeError(f"cannot open {self.path}: {exc}") from exc
        if not self._container.streams.audio:
            self._container.close()
            raise DecodeError(f"no audio stream in {self.path}")
        self._stream = self._container.streams.audio[0]
        self._chunks: deque[np.ndarray] = deque()
        self._buffered = 0
        self._base_ms = 0.0
        self._read = 0  # samples handed out since _base_ms
        self._skip = 0  # samples still to drop after a seek
        self._start(0.0, seek=False)

    # -- public API ---------------------------------------------------------

    @property
    def position_ms(self) -> float:
        """Position in the file of the next sample ``read`` will return, in ms."""
        return self._base_ms + self._read / SAMPLES_PER_MS

    @property
    def finished(self) -> bool:
        """True once every sample of the file has been read."""
        return self._eof and self._buffered == 0

    def read(self, max_samples: int = FRAME_SAMPLES) -> np.ndarray:
        """Up to ``max_samples`` samples as a ``(k, 2)`` float32 array; ``k == 0`` at the end."""
        while self._buffered < max_samples and not self._eof:
            self._decode_more()
        if self._buffered == 0 or max_samples <= 0:
            return empty()
        parts: list[np.ndarray] = []
        wanted = min(max_samples, self._buffered)
        got = 0
        while got < wanted:
            chunk = self._chunks.popleft()
            take = min(len(chunk), wanted - got)
            if take < len(chunk):
                self._chunks.appendleft(chunk[take:])
            parts.append(chunk[:take])
            got += take
        self._buffered -= got
        self._read += got
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def read_frame(self) -> np.ndarray | None:
        """Exactly one ``(960, 2)`` frame, the last one padded with silence; ``None`` at the end."""
        buf = self.read(FRAME_SAMPLES)
        if len(buf) == 0:
            return None
        if len(buf) < FRAME_SAMPLES:
            frame = silence()
            frame[: len(buf)] = buf
            return frame
        return buf

    def __iter__(self) -> Iterator[np.ndarray]:
        while (frame := self.read_frame()) is not None:
            yield frame

    def seek(self, position_ms: float) -> None:
        """Continue from ``position_ms`` (clamped at 0); past the end, the file is finished."""
        try:
            self._start(max(0.0, float(position_ms)))
        except (av.FFmpegError, OSError, IndexError) as exc:
            log.warning("cannot seek in %s: %s", self.path, exc)
            self._eof = True
            self._chunks.clear()
            self._buffered = 0

    def close(self) -> None:
        """Release the file. Further reads return nothing."""
        self._eof = True
        self._chunks.clear()
        self._buffered = 0
        self._container.close()

    def __enter__(self) -> Decoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------

    def _start(self, position_ms: float, *, seek: bool = True) -> None:
        """(Re)start decoding at ``position_ms``: seek the container, drop buffers and state."""
        self._chunks.clear()
        self._buffered = 0
        self._base_ms = self._target_ms = position_ms
        self._read = 0
        self._skip = 0
        self._eof = False
        self._first_after_seek = position_ms > 0
        try:
            if seek:
                self._seek_container(position_ms)
        except av.FFmpegError as exc:
            log.warning("seek failed in %s (%s): decoding from the start", self.path, exc)
            self._reopen()
            self._skip = round(position_ms * SAMPLES_PER_MS)
            self._first_after_seek = False
        self._resampler: Any = None
        self._frames = self._container.decode(self._stream)

    def _reopen(self) -> None:
        self._container.close()
        self._container = av.open(str(self.path))
        self._stream = self._container.streams.audio[0]

    def _seek_container(self, position_ms: float) -> None:
        # Land a little early: lossy decoders (Opus, MP3) need some pre-roll to converge;
        # the samples before the target are dropped in _decode_more.
        position_ms = max(0.0, position_ms - _PREROLL_MS)
        tb = self._stream.time_base
        if tb:
            self._container.seek(int(position_ms / 1000 / tb), stream=self._stream)
        else:
            self._container.seek(int(position_ms * 1000))  # in av.time_base (us)

    def _decode_more(self) -> None:
        """Decode one more input frame into the buffer, or mark the end (flushing)."""
        try:
            frame = next(self._frames)
        except StopIteration:
            self._flush()
            return
        except (av.FFmpegError, ValueError) as exc:
            log.warning("decode error in %s at %.0f ms: %s", self.path, self.position_ms, exc)
            self._flush()
            return
        if self._first_after_seek:
            self._first_after_seek = False
            if frame.pts is not None and frame.time_base:
                start_ms = float(frame.pts * frame.time_base) * 1000.0
                self._skip = max(0, round((self._target_ms - start_ms) * SAMPLES_PER_MS))
        self._push(self._resample(frame))

    def _resample(self, frame: Any) -> list[Any]:
        if self._resampler is None:
            self._resampler = _resampler_for(frame)
        try:
            return self._resampler.resample(frame)
        except ValueError:  # the input format changed mid-file: flush, then a new resampler
            out = self._resampler.resample(None)
            self._resampler = _resampler_for(frame)
            return out + self._resampler.resample(frame)

    def _flush(self) -> None:
        try:
            if self._resampler is not None:
                self._push(self._resampler.resample(None))
        except (av.FFmpegError, ValueError):
            pass
        self._eof = True

    def _push(self, frames: list[Any]) -> None:
        for out in frames:
            data = out.to_ndarray().reshape(-1, 1 if out.layout.nb_channels == 1 else CHANNELS)
            if data.shape[1] == 1:
                data = np.repeat(data, CHANNELS, axis=1)
            if self._skip:
                drop = min(self._skip, len(data))
                self._skip -= drop
                data = data[drop:]
            if len(data):
                self._chunks.append(np.ascontiguousarray(data, dtype=np.float32))
                self._buffered += len(data)


def _resampler_for(frame: Any) -> Any:
    """A resampler to 48 kHz float: mono stays mono (copied to both channels later)."""
    layout = "mono" if frame.layout.nb_channels == 1 else "stereo"
    return av.AudioResampler(format="flt", layout=layout, rate=SAMPLE_RATE)
