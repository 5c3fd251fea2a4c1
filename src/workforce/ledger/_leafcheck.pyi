from collections.abc import Sequence

def check_run(
    leaves: Sequence[bytes], first: int, prev: str, digests: Sequence[bytes], /
) -> list[str] | None: ...
