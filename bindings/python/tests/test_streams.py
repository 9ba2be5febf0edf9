"""Streams and tails: limits, deadlines, starts, filters, gaps, the GIL, threads, asyncio and
writers in other processes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time

import pytest

import plasmite
from plasmite import Durability, Lite3Frame, Message, RetentionGapError, UsageError
from conftest import pls_path


def fill(pool, n, tags=()):
    for i in range(n):
        pool.append({"i": i}, list(tags))


def test_tail_stops_at_max_messages_without_waiting(pool):
    fill(pool, 5)
    assert [m.seq for m in pool.tail(max_messages=3)] == [1, 2, 3]
    assert list(pool.tail(max_messages=0)) == []


def test_tail_delivers_history_then_ends_at_its_timeout(pool):
    fill(pool, 5)
    start = time.monotonic()
    got = [m.data["i"] for m in pool.tail(timeout_ms=200)]
    elapsed = time.monotonic() - start
    assert got == [0, 1, 2, 3, 4]
    assert 0.15 <= elapsed < 5


def test_tail_starts_and_filters(pool):
    fill(pool, 3)
    fill(pool, 2, tags=["odd"])
    assert [m.seq for m in pool.tail(since_seq=4, timeout_ms=0)] == [4, 5]
    assert [m.seq for m in pool.tail(last=2, timeout_ms=0)] == [4, 5]
    assert [m.seq for m in pool.tail(tags=["odd"], timeout_ms=0)] == [4, 5]
    assert [m.seq for m in pool.tail(tags="odd", max_messages=1)] == [4]
    assert [m.seq for m in pool.tail(where=".data.i == 1", timeout_ms=0)] == [2, 5]
    assert [m.seq for m in pool.tail(where=[".data.i >= 1", ".meta.tags == []"], timeout_ms=0)] == [2, 3]
    assert list(pool.tail(live=True, timeout_ms=50)) == []
    with pytest.raises(ValueError):
        pool.tail(since_seq=1, live=True)
    with pytest.raises(UsageError):
        pool.tail(where="this is not jq (")
    with pytest.raises(TypeError):
        pool.tail(since_seq="1")
    with pytest.raises(ValueError):
        pool.tail(max_messages=-1)


def test_streams_yield_envelopes_and_frames(pool):
    fill(pool, 3)
    with pool.open_stream(since_seq=2, timeout_ms=0) as s:
        envs = [json.loads(b) for b in s]
    assert [e["seq"] for e in envs] == [2, 3]
    s = pool.open_stream(max_messages=1)
    assert json.loads(s.next_json())["seq"] == 1
    assert s.next_json() is None and s.ended
    frames = list(pool.open_lite3_stream(timeout_ms=0))
    assert [f.seq for f in frames] == [1, 2, 3] and all(isinstance(f, Lite3Frame) for f in frames)
    ls = pool.open_lite3_stream(max_messages=1)
    assert ls.next().seq == 1 and ls.next() is None
    s.close()
    with pytest.raises(UsageError):
        with s:
            pass


def test_streams_outlive_their_pool_handle(client):
    p = client.create_pool("p")
    fill(p, 2)
    t = p.tail(timeout_ms=0)
    p.close()
    assert [m.seq for m in t] == [1, 2]


def test_error_on_gap_reports_messages_evicted_under_a_slow_reader(client):
    p = client.create_pool("small", 64 * 1024)
    p.append({"i": 0})
    strict = p.tail(error_on_gap=True, timeout_ms=0)
    lenient = p.tail(timeout_ms=0)
    assert next(strict).seq == 1 and next(lenient).seq == 1
    for i in range(500):  # the ring wraps: messages 2.. are overwritten before being read
        p.append({"i": i, "pad": "x" * 200})
    assert p.info()["bounds"]["oldest"] > 2
    with pytest.raises(RetentionGapError) as e:
        next(strict)
    assert e.value.seq == 2 and e.value.hint
    assert list(strict) == []  # the stream ended with the gap
    rest = [m.seq for m in lenient]
    assert rest[0] == p.info()["bounds"]["oldest"] and rest[-1] == 501


def test_other_threads_run_while_a_tail_waits(pool):
    tail = pool.tail(live=True, timeout_ms=10_000)
    got = []
    waiter = threading.Thread(target=lambda: got.append(tail.next_message()))
    waiter.start()
    # Pure-Python work in this thread while the other waits: only possible without the GIL.
    counter = 0
    end = time.monotonic() + 0.3
    while time.monotonic() < end:
        counter += 1
    assert counter > 1000
    assert waiter.is_alive() and not got
    pool.append({"wake": True})
    waiter.join(5)
    assert not waiter.is_alive() and got[0].data == {"wake": True}


def test_close_from_another_thread_ends_a_pending_wait(pool):
    tail = pool.tail()  # no timeout: would wait for ever
    done = threading.Event()

    def run():
        for _ in tail:
            pass
        done.set()

    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.1)
    closed_at = time.monotonic()
    tail.close()
    assert done.wait(2), "the wait ended after close()"
    assert time.monotonic() - closed_at < 2
    t.join()


def test_a_writer_in_another_process_is_seen_by_a_tail(pool, pool_dir):
    tail = pool.tail(live=True, timeout_ms=10_000)
    subprocess.run(
        [pls_path(), "--dir", str(pool_dir), "feed", "events", '{"from": "pls"}'],
        check=True, capture_output=True,
    )
    m = tail.next_message()
    assert isinstance(m, Message) and m.data == {"from": "pls"}
    tail.close()


def test_replay_paces_messages_and_checks_speed(pool):
    fill(pool, 3)
    got = list(pool.replay(speed=1000.0, timeout_ms=100))
    assert [m.seq for m in got] == [1, 2, 3]
    assert [m.seq for m in pool.replay(max_messages=2)] == [1, 2]
    with pytest.raises(ValueError):
        pool.replay(speed=0)


def test_asyncio_tail_runs_beside_other_tasks(pool):
    async def main():
        ticks = 0
        stop = asyncio.Event()

        async def ticker():
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        async def writer():
            await asyncio.sleep(0.3)
            pool.append({"n": 1})
            pool.append({"n": 2})

        tick_task = asyncio.create_task(ticker())
        write_task = asyncio.create_task(writer())
        got = []
        async with pool.atail(live=True, max_messages=2, timeout_ms=10_000) as t:
            async for m in t:
                got.append(m.data["n"])
        stop.set()
        await tick_task
        await write_task
        return got, ticks

    got, ticks = asyncio.run(main())
    assert got == [1, 2]
    assert ticks >= 3  # the loop kept running while the tail waited


def test_asyncio_cancellation_is_prompt_and_loses_nothing(pool):
    async def main():
        t = pool.atail(live=True)
        task = asyncio.create_task(t.__anext__())
        await asyncio.sleep(0.1)
        start = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        cancelled_in = time.monotonic() - start
        pool.append({"after": "cancel"})
        m = await asyncio.wait_for(t.__anext__(), 5)
        await t.aclose()
        return cancelled_in, m

    cancelled_in, m = asyncio.run(main())
    assert cancelled_in < 2
    assert m.data == {"after": "cancel"}


def test_closing_an_asyncio_tail_ends_its_pending_wait(pool):
    async def main():
        t = pool.atail(live=True)
        waiter = asyncio.create_task(t.__anext__())
        await asyncio.sleep(0.1)
        t.close()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(waiter, 5)

    asyncio.run(main())


def _threads() -> int:
    import os

    return len(os.listdir("/proc/self/task"))


def test_two_hundred_asyncio_tails_wait_at_once_without_a_thread_each(pool):
    async def main():
        tails = [pool.atail(live=True, max_messages=1, timeout_ms=10_000) for _ in range(200)]
        waits = [asyncio.ensure_future(t.__anext__()) for t in tails]
        await asyncio.sleep(0.3)
        waiting_threads = _threads()
        start = time.monotonic()
        pool.append({"to": "all"})
        got = await asyncio.wait_for(asyncio.gather(*waits), 10)
        took = time.monotonic() - start
        for t in tails:
            await t.aclose()
        return got, took, waiting_threads

    before = _threads()
    got, took, waiting_threads = asyncio.run(main())
    assert [m.data for m in got] == [{"to": "all"}] * 200
    assert took < 5
    # One hub thread serves every waiting tail of the pool.
    assert waiting_threads - before <= 2


def test_an_asyncio_tail_timeout_ends_it_on_time_without_messages(pool):
    async def main():
        start = time.monotonic()
        got = [m async for m in pool.atail(live=True, timeout_ms=200)]
        return got, time.monotonic() - start

    got, took = asyncio.run(main())
    assert got == []
    assert 0.15 <= took < 3


def test_an_asyncio_tail_with_where_waits_for_a_matching_message(pool):
    async def writer():
        await asyncio.sleep(0.2)
        pool.append({"i": 1})
        await asyncio.sleep(0.1)
        pool.append({"i": 2})

    async def main():
        w = asyncio.create_task(writer())
        got = [m.data async for m in pool.atail(live=True, where=".data.i == 2", max_messages=1, timeout_ms=10_000)]
        await w
        return got

    assert asyncio.run(main()) == [{"i": 2}]


def test_concurrent_anext_calls_on_one_asyncio_tail_each_get_a_message(pool):
    async def main():
        t = pool.atail(live=True)
        waits = [asyncio.ensure_future(t.__anext__()) for _ in range(3)]
        await asyncio.sleep(0.1)
        for i in range(3):
            pool.append({"i": i})
        got = await asyncio.wait_for(asyncio.gather(*waits), 10)
        await t.aclose()
        return sorted(m.data["i"] for m in got)

    assert asyncio.run(main()) == [0, 1, 2]


def test_asyncio_tail_with_where_and_timeout(pool):
    fill(pool, 3)

    async def main():
        got = [m.seq async for m in pool.atail(where=".data.i != 1", timeout_ms=300)]
        return got

    assert asyncio.run(main()) == [1, 3]


def test_asyncio_tail_drains_a_backlog_and_ends(pool):
    fill(pool, 200)

    async def main():
        return [m.seq async for m in pool.atail(timeout_ms=0)]

    assert asyncio.run(main()) == list(range(1, 201))


def test_flush_appends_release_the_gil(pool):
    assert pool.append({"durable": True}, durability=Durability.FLUSH).seq == 1


def test_where_runs_in_an_evaluator_process_of_the_installed_pls(pool):
    from plasmite._support import _pls_path

    assert _pls_path(), "the wheel's pls evaluates where expressions"
    fill(pool, 3)
    tail = pool.tail(where=".data.i >= 1", live=False, timeout_ms=5000)
    assert [next(tail).seq, next(tail).seq] == [2, 3]
    got = []
    t = threading.Thread(target=lambda: got.append(tail.next_message()))
    t.start()
    pool.append({"i": 0})
    pool.append({"i": 9})
    t.join(10)
    assert got and got[0].data == {"i": 9}
    waiting = threading.Thread(target=lambda: got.append(tail.next_message()))
    waiting.start()
    time.sleep(0.1)
    tail.close()
    waiting.join(2)
    assert not waiting.is_alive() and got[-1] is None


def test_a_where_expression_that_never_returns_cannot_hang_the_program(pool):
    pool.append({"i": 1})
    start = time.monotonic()
    with pytest.raises(plasmite.PlasmiteError) as e:
        list(pool.tail(where="[repeat(1)] | length > 0", timeout_ms=30_000))
    assert time.monotonic() - start < 20
    assert e.value.hint
