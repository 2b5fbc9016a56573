"""Past one core: worker processes under a supervisor, talking through Redis.

``bus.ClusterBus`` is one worker's membership (heartbeat, messages, the room
directory); ``supervisor.Supervisor`` runs and restarts the workers. This
package knows no room, socket or HTTP route: the app wires it in.
"""

from .bus import ClusterBus, WorkerInfo, encode
from .naming import Names, check_worker_id
from .redis_io import BusUnavailable
from .supervisor import Supervisor, WorkerSpec, resolve_workers, reuse_port_works

__all__ = [
    "BusUnavailable",
    "ClusterBus",
    "Names",
    "Supervisor",
    "WorkerInfo",
    "WorkerSpec",
    "check_worker_id",
    "encode",
    "resolve_workers",
    "reuse_port_works",
]
