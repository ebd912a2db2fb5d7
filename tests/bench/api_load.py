"""The API bench's load generator: HTTP/1.1 keep-alive connections on loopback, every latency kept.

Raw asyncio streams rather than an HTTP client library: the generator shares the machine with the
server, so it must cost as little CPU per request as possible.
"""

from __future__ import annotations

import asyncio
import statistics
import time

CONNECTIONS = 64


async def load(
    port: int, keys: list[str], paths: list[str], seconds: float, rate: float | None = None
) -> tuple[list[float], dict[int, int]]:
    """64 keep-alive connections (one API key each, as 64 clients would have).

    ``rate`` None: closed loop, each connection sends its next request as soon as the last answer is
    read (saturation: latency is mostly queueing). ``rate`` in requests/s: open loop, requests go out on
    a fixed schedule and latency counts from the scheduled instant, so a slow answer is not hidden by
    the requests it delayed.
    """
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    start_all = time.perf_counter()
    deadline = start_all + seconds
    interval = CONNECTIONS / rate if rate else 0.0

    async def connection(n: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i, scheduled = n, start_all + (interval * n / CONNECTIONS)
        try:
            while True:
                if rate:
                    if scheduled >= deadline:
                        break
                    await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
                elif time.perf_counter() >= deadline:
                    break
                path = paths[i % len(paths)]
                i += CONNECTIONS
                request = f"GET {path} HTTP/1.1\r\nHost: bench\r\nX-API-Key: {keys[n]}\r\n\r\n".encode()
                start = scheduled if rate else time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - start)
                code = int(head.split(b" ", 2)[1])
                statuses[code] = statuses.get(code, 0) + 1
                scheduled += interval
        finally:
            writer.close()

    await asyncio.gather(*(connection(n) for n in range(CONNECTIONS)))
    return latencies, statuses


def report(
    name: str, latencies: list[float], statuses: dict[int, int], seconds: float, target_ms: float | None
) -> None:
    ms = sorted(x * 1000 for x in latencies)
    p50, p99 = ms[len(ms) // 2], ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    verdict = (
        ""
        if target_ms is None
        else (f"  target p99 <= {target_ms:g} ms: " + ("met" if p99 <= target_ms else "NOT met"))
    )
    print(
        f"{name:<18} p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  mean {statistics.fmean(ms):7.2f} ms  "
        f"{len(ms) / seconds:7.0f} req/s  statuses {statuses}{verdict}",
        flush=True,
    )
