"""The one ranking of the reports (在线率排名, coverage ranking): best first, ties share a rank ("1224")."""

from __future__ import annotations

from collections.abc import Sequence


def competition_ranks(values: Sequence[float]) -> list[int]:
    """Each value's rank, the highest ranked 1; equal values share the best of their ranks and the next
    value's rank counts them all (standard competition ranking: 并列第一, then third)."""
    order = sorted(range(len(values)), key=lambda i: -values[i])
    ranks = [0] * len(values)
    for position, i in enumerate(order, start=1):
        previous = order[position - 2] if position > 1 else None
        tied = previous is not None and values[previous] == values[i]
        ranks[i] = ranks[previous] if tied and previous is not None else position
    return ranks
