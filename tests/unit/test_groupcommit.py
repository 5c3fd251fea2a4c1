"""The group commit shared by the admission gate and the ledger writer."""

from __future__ import annotations

import asyncio

import pytest

from workforce.groupcommit import Batcher

pytestmark = pytest.mark.anyio


class Store:
    """A fake transaction: refuses the whole batch if it holds a negative item."""

    def __init__(self) -> None:
        self.kept: list[int] = []
        self.calls: list[list[int]] = []

    async def write(self, items: list[int]) -> list[int]:
        self.calls.append(list(items))
        await asyncio.sleep(0)  # a transaction takes a moment; the next batch gathers
        if any(item < 0 for item in items):
            msg = f"refused {min(items)}"
            raise ValueError(msg)
        self.kept.extend(items)
        return [item * 10 for item in items]


async def test_waiting_items_share_batches_and_get_their_own_results() -> None:
    store = Store()
    batcher: Batcher[int, int] = Batcher(store.write, max_batch=4)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(10)))
    await batcher.close()
    assert results == [i * 10 for i in range(10)]
    assert sorted(store.kept) == list(range(10))
    assert batcher.batches == len(store.calls) < 10
    assert all(len(call) <= 4 for call in store.calls)


async def test_a_failed_batch_is_retried_item_by_item() -> None:
    store = Store()
    batcher: Batcher[int, int] = Batcher(store.write, max_batch=8)
    outcomes = await asyncio.gather(
        *(batcher.submit(i) for i in (1, 2, -3, 4)), return_exceptions=True
    )
    await batcher.close()
    assert outcomes[:2] == [10, 20] and outcomes[3] == 40
    assert isinstance(outcomes[2], ValueError) and str(outcomes[2]) == "refused -3"
    assert store.calls[0] == [1, 2, -3, 4]  # first together, then alone
    assert sorted(store.kept) == [1, 2, 4]
    assert batcher.batches == 3


async def test_without_retry_every_caller_gets_the_mapped_failure() -> None:
    store = Store()
    batcher: Batcher[int, int] = Batcher(
        store.write,
        max_batch=8,
        alone=lambda error: False,
        failure=lambda error: RuntimeError(f"nothing kept ({error})"),
    )
    outcomes = await asyncio.gather(
        *(batcher.submit(i) for i in (5, -6, 7)), return_exceptions=True
    )
    await batcher.close()
    assert [str(o) for o in outcomes] == ["nothing kept (refused -6)"] * 3
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    assert store.kept == [] and batcher.batches == 0


async def test_a_caller_that_goes_away_does_not_stop_the_write() -> None:
    store = Store()
    batcher: Batcher[int, int] = Batcher(store.write, max_batch=8)
    waiting = asyncio.ensure_future(batcher.submit(9))
    await asyncio.sleep(0)
    waiting.cancel()
    await batcher.close()
    assert store.kept == [9] and batcher.batches == 1
