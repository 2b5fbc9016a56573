"""``GET /metrics``: the operator's Prometheus scrape, rendered by prometheus-client.

The figures are read when scraped (a custom collector over the registry and the
media worker), so nothing on the packet path updates a metric object. Each app
has its own ``CollectorRegistry``: a histogram or counter that some handler
updates is one line, ``Histogram("onair_x", "...", registry=app[keys.METRICS])``.
"""

from __future__ import annotations

import asyncio
import os
import resource
from collections.abc import Iterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from sfu import MediaWorker
from sfu.worker import Sweeper

from ..keys import CLUSTER, METRICS
from ..model.registry import RoomRegistry
from ..model.room import Room
from ..model.sync import listener_figures, percentile
from .cluster_view import cluster_metrics
from .requests import require_operator

_PAGE = os.sysconf("SC_PAGE_SIZE")


def resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def open_fds() -> int:
    """Open file descriptors of this process (the directory listing's own one included)."""
    return len(os.listdir("/proc/self/fd"))


def os_threads() -> int:
    """Threads of this process as the kernel counts them (libuv's and OpenSSL's too)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


def asyncio_tasks() -> int:
    """Unfinished tasks of the running loop (0 when scraped from outside one)."""
    try:
        return len(asyncio.all_tasks())
    except RuntimeError:
        return 0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class ServerCollector(Collector):
    """The process, the media worker's packet counts and every live room's clock, read at scrape time."""

    def __init__(self, registry: RoomRegistry, worker: MediaWorker) -> None:
        self.registry = registry
        self.worker = worker

    def collect(self) -> Iterator[Metric]:
        rooms = self.registry.live()
        ticks = [r.router.clock.stats for r in rooms]
        counters = self.worker.counters
        yield from process_metrics()
        yield from sweep_metrics(self.worker.sweeper)
        yield CounterMetricFamily("onair_forwarded_packets", "RTP packets sent to consumers",
                                  value=counters.forwarded_packets)
        yield CounterMetricFamily("onair_received_packets", "RTP packets received from speakers",
                                  value=counters.received_packets)
        yield GaugeMetricFamily("onair_rooms", "live rooms", value=len(rooms))
        yield GaugeMetricFamily("onair_participants", "connected participants",
                                value=sum(r.connected_count() for r in rooms))
        yield GaugeMetricFamily("onair_listeners", "connected listeners",
                                value=sum(r.summary()["listeners"] for r in rooms))
        yield GaugeMetricFamily("onair_listeners_served", "listeners whose media this process sends "
                                "(with workers: wherever their room's origin is)",
                                value=served_listeners(self.worker))
        yield from sync_metrics(rooms, self.worker)
        yield CounterMetricFamily("onair_music_ticks", "music frames produced",
                                  value=sum(t.ticks for t in ticks))
        yield CounterMetricFamily("onair_music_underruns", "music frames skipped (loop too late)",
                                  value=sum(t.underruns for t in ticks))
        yield GaugeMetricFamily("onair_music_tick_late_ms_max", "worst tick lateness in ms",
                                value=max((t.late_ms_max for t in ticks), default=0.0))
        yield GaugeMetricFamily(
            "onair_music_tick_late_ms_p99",
            "99th percentile of tick lateness over the last minute, worst room",
            value=max((t.late_ms_p99() for t in ticks), default=0.0),
        )


def sync_metrics(rooms: list[Room], worker: MediaWorker) -> Iterator[Metric]:
    """What ``sync`` tells the host, for the operator: each room's D, the listeners' RTT and loss."""
    delay = GaugeMetricFamily("onair_audience_delay_ms", "the audience delay D of each room", labels=["room"])
    for room in rooms:
        delay.add_metric([room.room_id], room.router.audience.delay_ms)
    yield delay
    rtts: list[float] = []
    losses: list[float] = []
    for router in worker.routers:
        rtt, loss = listener_figures(router)
        rtts += rtt
        losses += loss
    for name, doc, values in (("onair_listener_rtt_ms", "listeners' RTCP round-trip time", rtts),
                              ("onair_listener_loss_pct", "listeners' loss in their last report", losses)):
        family = GaugeMetricFamily(name, f"{doc}, by quantile over listeners", labels=["quantile"])
        for share in (0.5, 0.95):
            value = percentile(values, share)
            if value is not None:
                family.add_metric([str(share)], value)
        yield family


def served_listeners(worker: MediaWorker) -> int:
    """Receivers of the audience feed on this process's routers (an edge router's too)."""
    return sum(1 for router in worker.routers for owner in router.subscribers if not router.is_live(owner))


def process_metrics() -> Iterator[Metric]:
    """CPU, memory, descriptors, threads and tasks of this process (what a leak shows in)."""
    yield CounterMetricFamily("onair_process_cpu_seconds", "CPU time of the server process",
                              value=cpu_seconds())
    yield GaugeMetricFamily("onair_process_resident_memory_bytes", "resident memory",
                            value=resident_bytes())
    yield GaugeMetricFamily("onair_process_open_fds", "open file descriptors", value=open_fds())
    yield GaugeMetricFamily("onair_process_threads", "OS threads of the process", value=os_threads())
    yield GaugeMetricFamily("onair_asyncio_tasks", "unfinished asyncio tasks", value=asyncio_tasks())


def sweep_metrics(sweeper: Sweeper) -> Iterator[Metric]:
    """The media worker's sweeps: full collections after peer connections closed."""
    yield CounterMetricFamily("onair_gc_sweeps", "full collections after closed connections",
                              value=sweeper.sweeps)
    yield CounterMetricFamily("onair_gc_sweep_seconds", "time spent in those collections",
                              value=sweeper.seconds)
    yield GaugeMetricFamily("onair_gc_sweep_ms_max", "longest of those collections in ms",
                            value=sweeper.max_ms)
    yield CounterMetricFamily("onair_gc_swept_objects", "unreachable objects they freed",
                              value=sweeper.freed)


def metrics_registry(registry: RoomRegistry, worker: MediaWorker) -> CollectorRegistry:
    """A fresh ``CollectorRegistry`` holding the server's collector."""
    collectors = CollectorRegistry(auto_describe=False)
    collectors.register(ServerCollector(registry, worker))
    return collectors


async def metrics(request: web.Request) -> web.Response:
    """This process's figures; with workers, every worker's, labelled ``worker``."""
    require_operator(request)
    collectors = request.app[METRICS]
    bus = request.app.get(CLUSTER)
    if bus is not None:
        collectors = await cluster_metrics(bus, collectors)
    body = generate_latest(collectors)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
