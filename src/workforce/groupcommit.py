"""Group commit: the writes waiting at one moment share one transaction.

A caller hands an item to :meth:`Batcher.submit` and waits.  One task writes every item waiting
at that moment in one call of ``write`` (one transaction), and only then does each caller get
its result: the same guarantee as a commit per item (nothing is answered that is not kept), with
one commit per batch.  While one batch is written the next gathers, so the batch size follows
the load: one item at a time when idle, up to ``max_batch`` under load.

If a batch fails and ``alone(error)`` says so, each of its items is written again on its own,
so one bad item fails only its own caller; otherwise every caller of the batch gets the error.
``failure(error)`` is what a caller receives (by default the error itself).  A caller that goes
away cancels only its own wait, never the write.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["Batcher"]

T = TypeVar("T")
R = TypeVar("R")


def _always(_error: Exception) -> bool:
    return True


def _same(error: Exception) -> BaseException:
    return error


class Batcher(Generic[T, R]):
    """Write the items of concurrent callers in batches (see the module)."""

    def __init__(
        self,
        write: Callable[[list[T]], Awaitable[list[R]]],
        *,
        max_batch: int,
        alone: Callable[[Exception], bool] = _always,
        failure: Callable[[Exception], BaseException] = _same,
    ) -> None:
        """``write(items)`` stores the items in one transaction and returns one result each."""
        self._write = write
        self._max_batch = max_batch
        self._alone = alone
        self._failure = failure
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        """How many batches were written (for tests and figures)."""

    async def submit(self, item: T) -> R:
        """Write ``item`` with those waiting at the same moment; its result once committed."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[R] = loop.create_future()
        self._queue.append((item, done))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain())
        return await done

    async def _drain(self) -> None:
        while self._queue:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            error = await self._attempt(batch)
            if error is None:
                continue
            if len(batch) > 1 and self._alone(error):
                for pending in batch:
                    alone = await self._attempt([pending])
                    if alone is not None:
                        self._fail(pending[1], alone)
            else:
                for _, done in batch:
                    self._fail(done, error)

    async def _attempt(self, batch: list[tuple[T, asyncio.Future[R]]]) -> Exception | None:
        """Write a batch and hand each caller its result; the error if it failed."""
        try:
            results = await self._write([item for item, _ in batch])
        except Exception as error:
            return error
        self.batches += 1
        for (_, done), result in zip(batch, results, strict=True):
            if not done.done():
                done.set_result(result)
        return None

    def _fail(self, done: asyncio.Future[R], error: Exception) -> None:
        if not done.done():
            done.set_exception(self._failure(error))

    async def close(self) -> None:
        """Wait for the items already handed over to be written."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
