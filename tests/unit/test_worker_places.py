"""Places per pixel: concurrency batches send, one more waits leased, a freed place goes once."""

from __future__ import annotations

import asyncio

from capigate.worker.places import Places


async def test_a_pixel_is_full_with_its_places_taken_and_one_batch_ahead() -> None:
    """concurrency + ahead batches fill a pixel; giving one up makes room and says so."""
    freed: list[int] = []
    places = Places(2, ahead=1, on_free=lambda: freed.append(1))
    held = [places.hold("111") for _ in range(3)]
    assert places.full() == {"111"}
    held[0].give_up()
    assert (places.full(), freed) == (set(), [1])


async def test_a_batch_ahead_waits_for_a_place_and_takes_the_freed_one() -> None:
    """With one place, the second batch sends only once the first gives its place up."""
    places = Places(1)
    first, second = places.hold("111"), places.hold("111")
    await first.take()
    waiting = asyncio.create_task(second.take())
    await asyncio.sleep(0)
    assert not waiting.done()
    first.give_up()
    await asyncio.wait_for(waiting, timeout=1)


async def test_giving_up_twice_or_before_taking_frees_no_extra_place() -> None:
    """give_up is idempotent, and a batch that never took a place returns none."""
    places = Places(1)
    sender, quitter, third = places.hold("111"), places.hold("111"), places.hold("111")
    await sender.take()
    quitter.give_up()
    quitter.give_up()
    waiting = asyncio.create_task(third.take())
    await asyncio.sleep(0)
    assert not waiting.done()  # the only place is still the sender's
    sender.give_up()
    sender.give_up()
    await asyncio.wait_for(waiting, timeout=1)
    assert places.full() == set()


async def test_pixels_have_their_own_places() -> None:
    """A busy pixel does not hold another pixel's batches."""
    places = Places(1, ahead=0)
    await places.hold("111").take()
    other = places.hold("222")
    await asyncio.wait_for(other.take(), timeout=1)
    assert places.full() == {"111", "222"}
