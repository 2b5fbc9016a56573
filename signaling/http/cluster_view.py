"""What one worker answers for all of them: ``/metrics`` and ``GET /api/rooms`` across the cluster.

Each worker republishes its metric families and its rooms' summaries with its
heartbeat (``ClusterBus.reports``); whichever worker is asked reads the
others' latest (at most one heartbeat old) and adds its own, fresh. If Redis
cannot be reached, the answer is this worker's alone rather than none.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..cluster import BusUnavailable, ClusterBus
from ..model.registry import RoomRegistry

log = logging.getLogger(__name__)


def families_json(collectors: CollectorRegistry) -> str:
    """This worker's metric families as a report: ``[name, type, help, [[sample, labels, value]]]``."""
    return json.dumps([[m.name, m.type, m.documentation, [[s.name, s.labels, s.value] for s in m.samples]]
                       for m in collectors.collect()])


def rooms_json(registry: RoomRegistry) -> str:
    """The summaries of the rooms this worker is the origin of, as a report."""
    return json.dumps([room.summary() for room in registry.live()])


class WorkersCollector(Collector):
    """Every worker's series, each sample labelled with its ``worker``; and how many workers live."""

    def __init__(self, reports: dict[str, str], live: int, draining: int) -> None:
        self.reports = reports
        self.live = live
        self.draining = draining

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("onair_workers", "live workers", value=self.live)
        yield GaugeMetricFamily("onair_workers_draining", "workers taking no new joins", value=self.draining)
        families: dict[str, Metric] = {}
        for worker, report in sorted(self.reports.items()):
            for name, kind, documentation, samples in _rows(worker, report):
                family = families.setdefault(name, Metric(name, documentation, kind))
                for sample, labels, value in samples:
                    family.add_sample(sample, {**labels, "worker": worker}, value)
        yield from families.values()


def _rows(worker: str, report: str) -> list[list]:
    try:
        rows = json.loads(report)
    except ValueError:
        log.warning("worker %s: unreadable metrics report", worker)
        return []
    return rows if isinstance(rows, list) else []


async def cluster_metrics(bus: ClusterBus, own: CollectorRegistry) -> CollectorRegistry:
    """A registry that renders every live worker's metrics (this one's read now)."""
    reports: dict[str, str] = {}
    live, draining = 1, int(bus.draining)
    try:
        workers = await bus.workers()
        live, draining = len(workers), sum(1 for w in workers.values() if w.draining)
        reports = await bus.reports_of("metrics", sorted(w for w in workers if w != bus.worker_id))
    except BusUnavailable as exc:
        log.warning("/metrics: other workers' figures unavailable (%s)", exc)
    reports[bus.worker_id] = families_json(own)
    collectors = CollectorRegistry(auto_describe=False)
    collectors.register(WorkersCollector(reports, live, draining))
    return collectors


async def cluster_rooms(bus: ClusterBus, registry: RoomRegistry) -> list[dict]:
    """Every live room of every live worker (this one's read now), oldest first."""
    rooms: dict[str, dict] = {}
    try:
        others = sorted(w for w in await bus.workers() if w != bus.worker_id)
        for report in (await bus.reports_of("rooms", others)).values():
            listed = json.loads(report)
            rooms.update({r["room_id"]: r for r in listed if isinstance(r, dict) and "room_id" in r})
    except (BusUnavailable, ValueError) as exc:
        log.warning("/api/rooms: other workers' rooms unavailable (%s)", exc)
    rooms.update({room.room_id: room.summary() for room in registry.live()})
    return sorted(rooms.values(), key=lambda r: str(r.get("started_at", "")))
