"""Benchmark of the Python package: appends and reads, printed as msgs/s medians.

- append: `pool.append(small dict)` one per call (target >= 300k msgs/s)
- append_json: `pool.append_json(bytes, [], FAST)` one per call (target >= 500k msgs/s)
- iterate: a full 64 MiB pool read back as `Message` objects through `tail` (target >= 1M msgs/s)

Appends are timed on a pool already written through once (where a long-lived ring spends its
life: every append evicts, no page is new) and on a new pool (where the kernel also pays for the
first touch of each page). Each figure is the median of several rounds, each on its own pool.
Usage: python bench.py [rounds]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time

import plasmite
from plasmite import Durability

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
N_APPEND = 100_000
POOL_SIZE = 64 * 1024 * 1024


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def new_pool(client: plasmite.Client, name: str, reused: bool) -> plasmite.Pool:
    pool = client.create_pool(name, POOL_SIZE)
    if reused:
        fill_once(pool)
    return pool


def fill_once(pool: plasmite.Pool) -> None:
    """Appends until the ring has wrapped: every byte of the pool has been written once."""
    payload = b'{"sensor": "temp", "value": 23.5, "n": 1}'
    while True:
        for _ in range(10_000):
            pool.append_json(payload, [], Durability.FAST)
        if pool.info()["bounds"]["oldest"] > 1:
            return


def bench_append(client: plasmite.Client, name: str, reused: bool) -> float:
    pool = new_pool(client, name, reused)
    value = {"sensor": "temp", "value": 23.5, "n": 1}
    append = pool.append
    start = time.perf_counter()
    for _ in range(N_APPEND):
        append(value)
    return rate(N_APPEND, time.perf_counter() - start)


def bench_append_json(client: plasmite.Client, name: str, reused: bool) -> float:
    pool = new_pool(client, name, reused)
    payload = b'{"sensor": "temp", "value": 23.5, "n": 1}'
    tags: list = []
    fast = Durability.FAST
    append_json = pool.append_json
    start = time.perf_counter()
    for _ in range(N_APPEND):
        append_json(payload, tags, fast)
    return rate(N_APPEND, time.perf_counter() - start)


def full_pool(client: plasmite.Client) -> tuple:
    pool = client.create_pool("full", POOL_SIZE)
    value = {"sensor": "temp", "value": 23.5, "n": 1}
    # Fill until the ring has wrapped once: the pool is full.
    while True:
        for _ in range(10_000):
            pool.append(value)
        info = pool.info()
        if info["bounds"]["oldest"] > 1:
            break
    return pool, info["metrics"]["message_count"]


def bench_iterate(pool: plasmite.Pool) -> float:
    start = time.perf_counter()
    n = 0
    for _m in pool.tail(timeout_ms=0):
        n += 1
    return rate(n, time.perf_counter() - start)


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        client = plasmite.Client(d)
        cases = [
            ("append (small dict), reused pool", bench_append, True, 300_000),
            ("append (small dict), new pool", bench_append, False, 300_000),
            ("append_json (bytes), reused pool", bench_append_json, True, 500_000),
            ("append_json (bytes), new pool", bench_append_json, False, 500_000),
        ]
        results = {name: [] for name, *_ in cases}
        targets = {name: target for name, _, _, target in cases}
        for i in range(ROUNDS):
            for j, (name, bench, reused, _) in enumerate(cases):
                pool_name = f"case{j}-{i}"
                results[name].append(bench(client, pool_name, reused))
                client.delete_pool(pool_name)
        pool, count = full_pool(client)
        results["iterate 64 MiB as Message"] = [bench_iterate(pool) for _ in range(ROUNDS)]
        targets["iterate 64 MiB as Message"] = 1_000_000
        print(f"plasmite {plasmite.__version__}, Python {sys.version.split()[0]}, {ROUNDS} rounds "
              f"({N_APPEND} appends per round; {count} messages in the full pool)")
        for name, rates in results.items():
            print(f"  {name:34} median {statistics.median(rates):>12,.0f} msgs/s   "
                  f"(target {targets[name]:,})")


if __name__ == "__main__":
    main()
