"""The one ranking every report uses (在线率排名, coverage, city)."""

from __future__ import annotations

from camwatch.reports.ranking import competition_ranks


def test_best_first_and_ties_share_a_rank():
    # equal values share a rank and the next one counts them all (并列第一, then third)
    assert competition_ranks([0.9, 1.0, 0.8, 1.0, 0.9]) == [3, 1, 5, 1, 3]
    assert competition_ranks([0.5]) == [1]
    assert competition_ranks([]) == []
