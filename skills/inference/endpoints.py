"""Where a run's requests go: one endpoint or several (replicas of one model, or a list of
addresses), each with a concurrency limit of its own that adapts to what the endpoint can take.

``Concurrency`` is one endpoint's limit, an AIMD controller (by default for APIs; engines such as
vLLM queue requests themselves and keep the fixed window at the ceiling unless asked):

- it starts at a safe level (``initial``; for an engine made adaptive, the ceiling) and, in slow
  start, grows by one for each answered request while the
  endpoint was using its whole limit (doubling per round trip), then, after its first back-off, by
  one per round trip (``1/limit`` per answer);
- it grows only while the endpoint's latency holds: a smoothed latency per generated token above
  ``latency_tolerance`` times the lowest seen stops the growth, and when it stays above for half a
  round trip of answers eases the limit off (x0.9, or in proportion to the excess when that is larger,
  down to x0.7); halfway there, slow start ends;
- it backs off on 429, 503, 502/504/408 (x0.85) and timeouts (x0.5), once per round trip: a
  request sent before the last back-off does not trigger another (``epoch``), so 300 requests
  refused at once halve nothing 300 times;
- a ``Retry-After`` holds its growth until that time (the request itself waits that long before it
  is sent again, to whichever endpoint has room then);
- ``++max_concurrent_requests`` is its ceiling.

``EndpointPool`` hands each request to the endpoint with the fewest requests in flight among those
with room under their limit (least outstanding requests), and keeps a request waiting, without a
slot, when none has room. An endpoint that stops answering (connection refused, or dropped twice in
a row) is taken out for a cool-down (0.5 s doubling to 30 s) and then tried with one request at a
time until it answers again; requests that failed on it are retried on the others at once.
"""

from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, List, Optional

OK, OVERLOAD, TIMEOUT, DOWN, DROPPED, ERROR = "ok", "overload", "timeout", "down", "dropped", "error"

ENGINE_TYPES = ("vllm", "sglang", "trtllm", "megatron")  # queue requests themselves; latency grows with batching
DEFAULT_INITIAL = 16  # a safe start for an API whose capacity we do not know
DEFAULT_TOLERANCE = 1.5  # an API's latency per token "holds" within this factor of the lowest seen
COOLDOWN_MIN_S, COOLDOWN_MAX_S = 0.5, 30.0


@dataclass
class ConcurrencySettings:
    ceiling: int = 512
    initial: Optional[int] = None  # None: the ceiling
    adaptive: bool = True
    latency_tolerance: float = 0.0  # 0: latency does not steer the limit
    overload_factor: float = 0.85  # 429/503/502/504/408
    timeout_factor: float = 0.5
    latency_factor: float = 0.9  # at most; further above the tolerance, the cut is deeper (down to x0.5)
    smoothing: float = 0.1  # weight of a new latency sample in the moving average


def concurrency_settings(server_type: str, ceiling: int, adaptive: Optional[bool] = None,
                         initial: Optional[int] = None, latency_tolerance: Optional[float] = None
                         ) -> ConcurrencySettings:
    """Defaults by server type. APIs: adaptive, from ``DEFAULT_INITIAL`` with ``DEFAULT_TOLERANCE``.
    Engines (vLLM, SGLang, TensorRT-LLM, Megatron) queue requests themselves, so the fixed window at
    the ceiling is right for them (as in the reference), and a 503 or a dropped connection from one
    is a fault to retry, not a sign of load: not adaptive unless asked; when asked, from the ceiling
    and not steered by latency (batching raises it by design)."""
    engine = server_type in ENGINE_TYPES
    if adaptive is None:
        adaptive = not engine
    ceiling = max(1, int(ceiling))
    if initial is None:
        initial = ceiling if engine else min(ceiling, DEFAULT_INITIAL)
    if latency_tolerance is None:
        latency_tolerance = 0.0 if engine else DEFAULT_TOLERANCE
    return ConcurrencySettings(ceiling=ceiling, initial=max(1, min(int(initial), ceiling)), adaptive=adaptive,
                               latency_tolerance=float(latency_tolerance))


class Concurrency:
    """The adaptive limit of one endpoint (see the module docstring). ``clock``: for tests."""

    def __init__(self, s: ConcurrencySettings, clock: Callable[[], float] = time.monotonic):
        self.s, self.clock = s, clock
        start = s.initial if (s.adaptive and s.initial) else s.ceiling
        self.limit = float(start)
        self.threshold = float(s.ceiling)  # slow start below it (until the first back-off)
        self.epoch = 0  # bumped by each back-off; requests carry the epoch they were sent in
        self.base: Optional[float] = None  # lowest smoothed latency per token
        self.recent: Optional[float] = None  # smoothed latency per token
        self.hold_until = 0.0  # Retry-After: no growth before then
        self.over = 0  # answers in a row whose smoothed latency was above the tolerance
        self.backoffs = 0
        self.lowest = self.highest = start

    @property
    def allowed(self) -> int:
        return max(1, int(self.limit))

    def _set(self, value: float) -> None:
        self.limit = max(1.0, min(float(self.s.ceiling), value))
        self.lowest, self.highest = min(self.lowest, self.allowed), max(self.highest, self.allowed)

    def answered(self, latency_s: float, tokens: Optional[int], in_flight: int, epoch: int) -> None:
        """An answer after ``latency_s``; ``in_flight``: requests on the endpoint when it came
        (itself included); ``epoch``: the one it was sent in."""
        if not self.s.adaptive:
            return
        per_token = latency_s / max(1, tokens or 1)
        a = self.s.smoothing
        self.recent = per_token if self.recent is None else (1 - a) * self.recent + a * per_token
        self.base = self.recent if self.base is None else min(self.base, self.recent)
        tol = self.s.latency_tolerance
        if tol and self.recent > tol * self.base:  # latency does not hold: no growth; for a whole
            self.over += 1  # round trip of answers (not a passing hiccup): ease off
            if self.over >= max(1, self.allowed // 2) and self._back_off(
                    max(0.7, min(self.s.latency_factor, tol * self.base / self.recent)), epoch):
                self.over = 0
            return
        self.over = 0
        if tol and self.limit < self.threshold and self.recent > (1 + (tol - 1) / 2) * self.base:
            self.threshold = self.limit  # latency starts to rise: slow start ends, growth turns additive
        if self.clock() < self.hold_until or in_flight < self.allowed:  # held, or not using its limit
            return
        self._set(self.limit + (1.0 if self.limit < self.threshold else 1.0 / self.limit))

    def overloaded(self, epoch: int, timeout: bool = False, retry_after: Optional[float] = None) -> bool:
        """A 429/503/... (or a timeout) for a request sent in ``epoch``; True when it backed off."""
        if retry_after:
            self.hold_until = max(self.hold_until, self.clock() + retry_after)
        if not self.s.adaptive:
            return False
        return self._back_off(self.s.timeout_factor if timeout else self.s.overload_factor, epoch)

    def _back_off(self, factor: float, epoch: int) -> bool:
        if epoch != self.epoch:  # sent under a higher limit that was already cut: counted once
            return False
        self._set(self.limit * factor)
        self.threshold = self.limit
        self.epoch += 1
        self.backoffs += 1
        return True


@dataclass
class Endpoint:
    """One server address and what happened there."""

    url: str
    label: str  # the URL with credentials masked, for logs
    conc: Concurrency
    index: int = 0
    via: Dict[str, Any] = field(default_factory=dict)  # per-request aiohttp arguments (proxy, headers)
    in_flight: int = 0
    down: bool = False  # stopped answering: one request at a time once the cool-down is over
    down_until: float = 0.0
    cooldown: float = 0.0
    dropped: int = 0  # dropped connections in a row
    answered: int = 0
    tokens: int = 0
    failed: int = 0  # attempts that failed here (retried elsewhere or later)
    first: Optional[float] = None
    last: Optional[float] = None

    def room(self, now: float) -> int:
        if self.down:
            return (1 - self.in_flight) if now >= self.down_until else 0
        return self.conc.allowed - self.in_flight

    def summary(self, n: int) -> str:
        span = (self.last - self.first) if self.first is not None and self.last is not None else 0.0
        rate = f" ({self.answered / span:.1f}/s, {self.tokens / span:.0f} tokens/s)" if span > 0 else ""
        c = self.conc
        conc = (f"concurrency {c.allowed} (from {c.s.initial if c.s.adaptive else c.s.ceiling}, lowest {c.lowest}, "
                f"highest {c.highest}, {c.backoffs} back-offs)" if c.s.adaptive else f"concurrency {c.allowed}")
        state = "; not answering at the end" if self.down else ""
        who = f"endpoint {self.index + 1}/{n} {self.label}" if n > 1 else f"endpoint {self.label}"
        return f"{who}: {self.answered} requests{rate}, {self.failed} failed attempts, {conc}{state}"


class EndpointPool:
    """Requests spread over endpoints: ``ep = await pool.acquire()``, then ``pool.finish(ep, ...)``."""

    def __init__(self, endpoints: List[Endpoint], say: Callable[[str], Any] = lambda _: None,
                 clock: Callable[[], float] = time.monotonic):
        self.endpoints, self.say, self.clock = endpoints, say, clock
        self._waiters: Deque[asyncio.Future] = collections.deque()
        self._timer: Optional[asyncio.TimerHandle] = None

    def __len__(self) -> int:
        return len(self.endpoints)

    def pick(self) -> Optional[Endpoint]:
        """The endpoint with room and the fewest requests in flight (then the most room, then order)."""
        now, best, key = self.clock(), None, None
        for ep in self.endpoints:
            room = ep.room(now)
            if room > 0:
                k = (ep.in_flight, -room, ep.index)
                if key is None or k < key:
                    best, key = ep, k
        return best

    def others_up(self, ep: Endpoint) -> bool:
        return any(not o.down for o in self.endpoints if o is not ep)

    async def acquire(self) -> Endpoint:
        """A slot on the best endpoint, first come first served: a caller never takes a slot while
        others wait (the rows of a run go out in their order when one slot is free at a time, as the
        reference's semaphore sends them), and a freed slot is handed to the longest waiter."""
        if not self._waiters:
            ep = self.pick()
            if ep is not None:
                return self._take(ep)
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._waiters.append(fut)
        self._arm_timer(loop)
        try:
            return await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():  # handed a slot, then cancelled: give it back
                fut.result().in_flight -= 1
                self.wake()
            else:
                try:
                    self._waiters.remove(fut)
                except ValueError:
                    pass
            raise

    def _take(self, ep: Endpoint) -> Endpoint:
        ep.in_flight += 1
        if ep.first is None:
            ep.first = self.clock()
        return ep

    def wake(self) -> None:
        """Hand free slots to the waiters, longest first."""
        while self._waiters:
            if self._waiters[0].done():
                self._waiters.popleft()
                continue
            ep = self.pick()
            if ep is None:
                break
            self._waiters.popleft().set_result(self._take(ep))
        if self._waiters:
            try:
                self._arm_timer(asyncio.get_running_loop())
            except RuntimeError:
                pass

    def _arm_timer(self, loop: asyncio.AbstractEventLoop) -> None:
        """Waiters and every endpoint cooling down: wake them when the first cool-down ends."""
        now = self.clock()
        ends = [ep.down_until for ep in self.endpoints if ep.down and ep.down_until > now]
        if not ends or self._timer is not None:
            return

        def fire() -> None:
            self._timer = None
            self.wake()

        self._timer = loop.call_later(max(0.0, min(ends) - now), fire)

    def finish(self, ep: Endpoint, outcome: str, epoch: int, latency_s: float = 0.0,
               tokens: Optional[int] = None, retry_after: Optional[float] = None, why: str = "") -> None:
        """Record one attempt's outcome on ``ep`` and give its slot back."""
        now = self.clock()
        in_flight = ep.in_flight
        ep.in_flight -= 1
        if outcome == OK:
            ep.answered += 1
            ep.tokens += tokens or 0
            ep.last = now
            ep.dropped = 0
            if ep.down:
                ep.down, ep.cooldown = False, 0.0
                self.say(f"{ep.label} answers again; requests go to it again")
            ep.conc.answered(latency_s, tokens, in_flight, epoch)
        else:
            ep.failed += 1
            if outcome in (OVERLOAD, TIMEOUT):
                ep.conc.overloaded(epoch, timeout=outcome == TIMEOUT, retry_after=retry_after)
            elif outcome in (DOWN, DROPPED):
                ep.dropped += 1
                if ep.down:  # a failed probe, or a request sent before it was taken out
                    if now >= ep.down_until:
                        self._take_out(ep, now, why)
                elif outcome == DOWN or ep.dropped >= 3:
                    self._take_out(ep, now, why)
        self.wake()

    def _take_out(self, ep: Endpoint, now: float, why: str) -> None:
        ep.cooldown = min(COOLDOWN_MAX_S, max(COOLDOWN_MIN_S, ep.cooldown * 2))
        ep.down_until = now + ep.cooldown
        if not ep.down:
            ep.down = True
            rest = ("its requests go to the others" if self.others_up(ep) else
                    "no other endpoint is up: requests wait for one")
            self.say(f"{ep.label} stopped answering ({why or 'connection failed'}); {rest}; "
                     "it is tried again from time to time")

    def summary(self) -> List[str]:
        return [ep.summary(len(self.endpoints)) for ep in self.endpoints]
