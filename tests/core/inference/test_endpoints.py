"""Adaptive concurrency per endpoint (AIMD) and requests spread over several endpoints."""

from __future__ import annotations

import asyncio

import pytest

from skills.inference.endpoints import (DOWN, DROPPED, OK, OVERLOAD, TIMEOUT, Concurrency, ConcurrencySettings,
                                        Endpoint, EndpointPool, concurrency_settings)


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def grow(c: Concurrency, n: int, latency: float = 1.0, tokens: int = 10) -> None:
    """``n`` answers while the endpoint uses its whole limit."""
    for _ in range(n):
        c.answered(latency, tokens, c.allowed, c.epoch)


def test_defaults_by_server_type():
    engine = concurrency_settings("vllm", 512)
    api = concurrency_settings("openai", 512)
    assert not engine.adaptive and api.adaptive  # engines queue requests themselves: the fixed window
    assert Concurrency(engine).allowed == 512 and Concurrency(api).allowed == 16
    asked = concurrency_settings("vllm", 512, adaptive=True)
    assert asked.adaptive and (asked.initial, asked.latency_tolerance) == (512, 0.0)  # from the top, no latency
    assert (api.initial, api.latency_tolerance) == (16, 1.5)
    assert not concurrency_settings("openai", 512, adaptive=False).adaptive
    assert concurrency_settings("openai", 4).initial == 4  # never above the ceiling
    assert concurrency_settings("openai", 64, initial=1000).initial == 64
    assert concurrency_settings("openai", 64, initial=8, latency_tolerance=0).latency_tolerance == 0.0


def test_slow_start_grows_to_the_ceiling_and_never_past_it():
    c = Concurrency(ConcurrencySettings(ceiling=40, initial=4))
    grow(c, 4)
    assert c.allowed == 8  # +1 per answer in slow start: doubles per round trip
    grow(c, 200)
    assert c.allowed == 40 and c.highest == 40


def test_no_growth_when_the_limit_is_not_used():
    c = Concurrency(ConcurrencySettings(ceiling=100, initial=10))
    for _ in range(50):
        c.answered(1.0, 10, 3, c.epoch)  # 3 in flight under a limit of 10: no evidence that 11 is fine
    assert c.allowed == 10


def test_backs_off_once_per_round_trip_then_grows_additively():
    c = Concurrency(ConcurrencySettings(ceiling=100, initial=64))
    sent_before = c.epoch
    assert c.overloaded(sent_before) is True
    assert c.allowed == 54  # x0.85
    for _ in range(30):  # the other requests of that window were refused too: counted once
        assert c.overloaded(sent_before) is False
    assert c.allowed == 54 and c.backoffs == 1
    c.limit = 48.0
    assert c.overloaded(c.epoch, timeout=True) and c.allowed == 24  # a timeout: x0.5
    grow(c, 20)  # after a back-off: +1/limit per answer, about one per round trip
    assert c.allowed == 24
    grow(c, 6)
    assert c.allowed == 25
    grow(c, 26)
    assert c.allowed == 26
    assert c.lowest == 24


def test_backs_off_to_one_at_least():
    c = Concurrency(ConcurrencySettings(ceiling=8, initial=2))
    for _ in range(10):
        c.overloaded(c.epoch, timeout=True)
    assert c.allowed == 1 and c.limit >= 1.0


def test_retry_after_holds_growth_until_it_has_passed():
    clock = Clock()
    c = Concurrency(ConcurrencySettings(ceiling=100, initial=10), clock=clock)
    c.overloaded(c.epoch, retry_after=5.0)
    held = c.allowed  # 7
    grow(c, 50)
    assert c.allowed == held  # the server asked for 5 s: no growth meanwhile
    clock.now += 5.01
    grow(c, 7)
    assert c.allowed == held + 1


def test_retry_after_is_honoured_without_adaptive_concurrency_too():
    clock = Clock()
    c = Concurrency(ConcurrencySettings(ceiling=32, initial=4, adaptive=False), clock=clock)
    assert c.allowed == 32  # fixed: the ceiling from the start, never cut
    assert c.overloaded(c.epoch) is False and c.allowed == 32
    assert c.hold_until == pytest.approx(clock.now) or c.hold_until == 0.0


def test_latency_that_does_not_hold_stops_growth_and_eases_off():
    c = Concurrency(ConcurrencySettings(ceiling=200, initial=10, latency_tolerance=1.5))
    grow(c, 20, latency=1.0, tokens=10)  # 0.1 s per token
    assert c.allowed == 30
    grow(c, 10, latency=1.2, tokens=10)  # 1.2x: latency holds, it grows
    assert c.allowed > 30
    top = c.allowed
    before = c.backoffs
    c.answered(3.0 * 10, 10, c.allowed, c.epoch)  # one answer at 30x: the average jumps past 3x the lowest
    assert c.allowed == top and c.backoffs == before  # a hiccup: growth stops, nothing is cut yet
    grow(c, 30, latency=1.0, tokens=10)  # back to normal: the hiccup is forgotten, growth resumes
    assert c.over == 0 and c.allowed >= top
    top = c.allowed
    for _ in range(top // 2 - 1):  # above the tolerance for (almost) half a round trip of answers
        c.answered(30.0, 10, c.allowed, c.epoch)
    assert c.allowed == top and c.backoffs == before
    c.answered(30.0, 10, c.allowed, c.epoch)  # half a round trip: far above the tolerance, a deep cut
    assert c.allowed == int(top * 0.7) and c.backoffs == before + 1
    grow(c, 200, latency=3.0, tokens=10)  # 3x the lowest: it keeps easing off, once per round trip
    assert c.allowed < top // 2 and c.backoffs >= before + 2
    # latency per token, not per request: a long answer is not a slow server
    d = Concurrency(ConcurrencySettings(ceiling=200, initial=10, latency_tolerance=1.5))
    grow(d, 10, latency=1.0, tokens=10)
    grow(d, 10, latency=20.0, tokens=200)
    assert d.allowed == 30 and d.backoffs == 0


def _pool(n: int, ceiling: int = 2, clock=None) -> EndpointPool:
    clock = clock or Clock()
    eps = [Endpoint(url=f"http://h{i}/v1", label=f"h{i}", index=i,
                    conc=Concurrency(ConcurrencySettings(ceiling=ceiling), clock=clock)) for i in range(n)]
    return EndpointPool(eps, clock=clock)


def test_least_outstanding_requests_first():
    async def main():
        pool = _pool(3, ceiling=4)
        got = [await pool.acquire() for _ in range(6)]
        assert [e.index for e in got] == [0, 1, 2, 0, 1, 2]  # round the endpoints, fewest in flight first
        pool.finish(got[1], OK, 0, 1.0, 5)
        pool.finish(got[4], OK, 0, 1.0, 5)  # endpoint 1 is now idle
        assert (await pool.acquire()).index == 1
        assert [e.in_flight for e in pool.endpoints] == [2, 1, 2]
        assert pool.endpoints[1].answered == 2 and pool.endpoints[1].tokens == 10
    asyncio.run(main())


def test_requests_wait_without_room_and_go_where_room_appears():
    async def main():
        pool = _pool(2, ceiling=1)
        a, b = await pool.acquire(), await pool.acquire()
        waiting = asyncio.ensure_future(pool.acquire())
        await asyncio.sleep(0.01)
        assert not waiting.done()  # both endpoints at their limit
        pool.finish(b, OK, 0, 1.0, 1)
        assert (await asyncio.wait_for(waiting, 1)).index == b.index
        pool.finish(a, OK, 0, 1.0, 1)
    asyncio.run(main())


def test_a_dead_endpoint_is_taken_out_and_tried_again_after_a_cool_down():
    said = []

    async def main():
        clock = Clock()
        pool = _pool(2, ceiling=4, clock=clock)
        pool.say = said.append
        dead = pool.endpoints[1]
        got = [await pool.acquire() for _ in range(4)]
        for ep in got:
            if ep is dead:
                pool.finish(ep, DOWN, 0, why="ClientConnectorError")
        assert dead.down and dead.room(clock.now) == 0
        assert [await pool.acquire() for _ in range(2)] == [pool.endpoints[0]] * 2  # only the live one
        clock.now += 0.6  # the cool-down is over: one request at a time
        probe = await pool.acquire()
        assert probe is dead and dead.room(clock.now) == 0
        pool.finish(probe, OK, 0, 1.0, 1)
        assert not dead.down
    asyncio.run(main())
    assert any("h1 stopped answering (ClientConnectorError); its requests go to the others" in s for s in said)
    assert any("h1 answers again" in s for s in said)


def test_dropped_connections_take_an_endpoint_out_only_in_a_row():
    async def main():
        pool = _pool(2, ceiling=8)
        ep = pool.endpoints[0]
        for outcome in (DROPPED, OK, DROPPED, OK, DROPPED):
            await pool.acquire()
            pool.finish(ep, outcome, 0, 1.0, 1)
        assert not ep.down  # an odd dropped connection is not a dead server
        for _ in range(3):
            pool.finish(ep, DROPPED, 0)
            ep.in_flight += 1
        assert ep.down
    asyncio.run(main())


def test_overload_and_timeouts_reach_the_endpoints_controller():
    async def main():
        pool = _pool(1, ceiling=16)
        ep = await pool.acquire()
        pool.finish(ep, OVERLOAD, ep.conc.epoch, retry_after=2.0)
        assert ep.conc.allowed == 13 and ep.conc.hold_until > 0
        ep = await pool.acquire()
        pool.finish(ep, TIMEOUT, ep.conc.epoch)
        assert ep.conc.allowed == 6 and not ep.down  # overload is not death
    asyncio.run(main())
