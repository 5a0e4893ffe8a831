"""The adaptive limiter: a rate limit halves the width once per burst, successes grow it back."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

from assistops.providers.limiter import AdaptiveLimiter


def test_a_rate_limit_halves_the_width_once_per_burst() -> None:
    limiter = AdaptiveLimiter(16)
    with limiter.slot() as first, limiter.slot() as second:
        limiter.limited(first, retry_after=0)
        limiter.limited(second, retry_after=0)  # in flight before the cut: no second cut
    assert (limiter.width, limiter.cuts) == (8, 1)
    with limiter.slot() as after:
        limiter.limited(after, retry_after=0)  # a call started after the cut cuts again
    assert (limiter.width, limiter.cuts) == (4, 2)


def test_the_width_never_drops_below_one() -> None:
    limiter = AdaptiveLimiter(2)
    for _ in range(3):
        with limiter.slot() as generation:
            limiter.limited(generation, retry_after=0)
    assert limiter.width == 1


def test_it_grows_back_by_one_per_width_successes_up_to_the_ceiling() -> None:
    limiter = AdaptiveLimiter(4)
    with limiter.slot() as old:
        limiter.limited(old, retry_after=0)
    assert limiter.width == 2
    limiter.succeeded(old)  # an answer to a call from before the cut does not count
    assert limiter.width == 2
    widths = []
    for _ in range(12):
        with limiter.slot() as generation:
            pass
        limiter.succeeded(generation)
        widths.append(limiter.width)
    assert widths == [2, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4]


def test_resize_sets_ceiling_and_width() -> None:
    limiter = AdaptiveLimiter(32)
    with limiter.slot() as generation:
        limiter.limited(generation, retry_after=0)
    limiter.resize(6)
    assert (limiter.ceiling, limiter.width) == (6, 6)


def test_no_more_than_width_calls_are_in_flight() -> None:
    limiter = AdaptiveLimiter(3)
    seen: list[int] = []
    gate = threading.Barrier(3)  # three calls in flight at once, never a fourth

    def call() -> None:
        with limiter.slot():
            seen.append(limiter.in_flight)
            with contextlib.suppress(threading.BrokenBarrierError):
                gate.wait(timeout=5)

    threads = [threading.Thread(target=call) for _ in range(9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert max(seen) == 3 and len(seen) == 9
    assert limiter.in_flight == 0


def test_a_coroutine_waits_for_a_slot_a_thread_holds_without_blocking_its_loop() -> None:
    limiter = AdaptiveLimiter(1)
    held, release = threading.Event(), threading.Event()

    def thread_call() -> None:
        with limiter.slot():
            held.set()
            release.wait(10)

    holder = threading.Thread(target=thread_call)
    holder.start()
    assert held.wait(10)

    async def main() -> list[str]:
        order: list[str] = []

        async def call() -> None:
            async with limiter.aslot():
                order.append("call")

        async def meanwhile() -> None:
            order.append("loop free")  # runs while the call waits: the loop is not blocked
            release.set()

        await asyncio.gather(call(), meanwhile())
        return order

    try:
        assert asyncio.run(asyncio.wait_for(main(), 10)) == ["loop free", "call"]
    finally:
        release.set()
        holder.join()
    assert limiter.in_flight == 0


def test_a_coroutine_waits_out_a_retry_after_and_a_cancelled_one_leaves_no_slot() -> None:
    limiter = AdaptiveLimiter(2)
    with limiter.slot() as generation:
        limiter.limited(generation, retry_after=0.2)

    async def main() -> float:
        start = time.monotonic()
        async with limiter.aslot():
            pass
        waited = time.monotonic() - start
        limiter.resize(1)
        async with limiter.aslot():
            blocked = asyncio.create_task(_take(limiter))
            await asyncio.sleep(0.05)
            blocked.cancel()  # waiting for the one slot; cancelled, it takes nothing
            with contextlib.suppress(asyncio.CancelledError):
                await blocked
        return waited

    waited = asyncio.run(asyncio.wait_for(main(), 10))
    assert 0.15 <= waited < 5
    assert limiter.in_flight == 0
    with limiter.slot():  # the slot is free again for a thread
        assert limiter.in_flight == 1


async def _take(limiter: AdaptiveLimiter) -> None:
    async with limiter.aslot():
        pass


def test_a_waiter_cancelled_as_it_is_woken_sends_nothing() -> None:
    # a wake-up and a cancel (a second Ctrl-C, a close) in the same loop turn, while the
    # waiter sits out a Retry-After: the cancel wins, the request is never sent
    limiter = AdaptiveLimiter(4)
    sent: list[str] = []

    async def main() -> None:
        async with limiter.aslot() as generation:
            limiter.limited(generation, retry_after=5)

        async def step() -> None:
            async with limiter.aslot():
                sent.append("request")

        task = asyncio.create_task(step())
        await asyncio.sleep(0.05)
        limiter.resize(4)  # wakes every waiter
        await asyncio.sleep(0)  # the wake-up has run: the waiter's future is set
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert task.cancelled()

    asyncio.run(asyncio.wait_for(main(), 10))
    assert sent == []
    assert limiter.in_flight == 0
