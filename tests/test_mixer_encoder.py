"""OpusFrameEncoder: one packet per 20 ms frame, decodable back to the same tone."""

from __future__ import annotations

import av
import numpy as np
import pytest

from mixer import OpusFrameEncoder


def sine_frames(freq: float, count: int, level: float = 0.5) -> list[np.ndarray]:
    t = np.arange(960 * count) / 48_000
    mono = (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    stereo = np.stack([mono, mono], axis=1)
    return [stereo[i * 960 : (i + 1) * 960] for i in range(count)]


def decode_opus(packets: list[bytes]) -> np.ndarray:
    """Decode raw Opus packets with PyAV's libopus decoder into (n, 2) float32."""
    decoder = av.CodecContext.create("libopus", "r")
    decoder.sample_rate = 48_000
    decoder.layout = "stereo"
    out = []
    for i, data in enumerate(packets):
        packet = av.Packet(data)
        packet.pts = i * 960
        for frame in decoder.decode(packet):
            pcm = frame.to_ndarray()
            pcm = pcm.T if frame.format.is_planar else pcm.reshape(-1, 2)
            if frame.format.name.startswith("s16"):
                pcm = pcm / 32768.0
            out.append(pcm.astype(np.float32))
    return np.concatenate(out)


def test_one_packet_per_frame_and_the_tone_survives() -> None:
    encoder = OpusFrameEncoder()
    frames = sine_frames(1000.0, 100)  # 2 s
    packets = [encoder.encode(frame) for frame in frames]
    assert len(packets) == 100
    assert all(isinstance(p, bytes) and 0 < len(p) < 1500 for p in packets)
    assert 60_000 < sum(map(len, packets)) * 8 / 2.0 < 200_000  # about 128 kbit/s

    audio = decode_opus(packets)
    assert audio.shape == (100 * 960, 2)
    steady = audio[9600:, 0]
    spectrum = np.abs(np.fft.rfft(steady * np.hanning(len(steady))))
    peak = np.fft.rfftfreq(len(steady), 1 / 48_000)[int(np.argmax(spectrum))]
    assert peak == pytest.approx(1000.0, abs=3.0)
    assert float(np.sqrt(np.mean(steady**2))) == pytest.approx(0.5 / np.sqrt(2), rel=0.1)


def test_silence_and_stereo_are_one_packet_each() -> None:
    encoder = OpusFrameEncoder()
    left = sine_frames(440.0, 20)
    packets = []
    for frame in left:
        stereo = frame.copy()
        stereo[:, 1] = 0.0
        packets.append(encoder.encode(stereo))
    packets += [encoder.encode(np.zeros((960, 2), np.float32)) for _ in range(20)]
    assert len(packets) == 40
    audio = decode_opus(packets)
    assert float(np.abs(audio[4800:14000, 0]).max()) > 0.3
    assert float(np.abs(audio[4800:14000, 1]).max()) < 0.05


def test_rejects_wrong_shapes() -> None:
    encoder = OpusFrameEncoder()
    with pytest.raises(ValueError):
        encoder.encode(np.zeros((480, 2), np.float32))
    with pytest.raises(ValueError):
        encoder.encode(np.zeros(1920, np.float32))
