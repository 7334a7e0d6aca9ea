"""Time windows over a card's (or a merchant's) earlier purchases, found by binary search.

The purchases are sorted once by (group, time); a window "the group's purchases with time in
[a, b)" is then two ``numpy.searchsorted`` calls on one sorted int64 key per purchase, and any
sum over the window is a difference of cumulative sums. No loop over rows or groups.

The key of a purchase is ``(group + 1) * stride + time``, the time counted in steps of the
times' own resolution (their greatest common divisor: seconds for the simulator) from the
earliest: comparing keys compares (group, time) exactly. When that would overflow int64 (many
cards over times in nanoseconds), the time is replaced by its rank among the sorted distinct
purchase times (a purchase time gets an odd rank, a time between two of them the even rank
between), exact too and at most ``groups * (2 * times + 2)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NANOSECONDS_PER_MINUTE = 60 * 10 ** 9
NANOSECONDS_PER_DAY = 24 * 60 * NANOSECONDS_PER_MINUTE
KEY_LIMIT = 2 ** 62  # keys (group, time in steps) beyond this: times ranked instead


def group_codes(values: pd.Series) -> np.ndarray:
    """Return an int64 code per value (equal values, equal codes); -1 where the value is empty."""
    return pd.factorize(values)[0].astype(np.int64)


def timestamp_nanoseconds(timestamps: pd.Series) -> np.ndarray:
    """Return the timestamps as int64 nanoseconds (time-zone aware ones in UTC)."""
    times = pd.to_datetime(timestamps)
    if getattr(times.dt, "tz", None) is not None:
        times = times.dt.tz_convert("UTC").dt.tz_localize(None)
    return times.to_numpy(dtype="datetime64[ns]").astype(np.int64)


class SortedWindows:
    """Purchases sorted by (group, time), answering "how many before (group, time)" at once.

    Args:
        groups: int64 group code per purchase (card or merchant), in the caller's order.
        times: int64 nanoseconds per purchase, in the caller's order.

    ``order`` gives the sorted positions (ties in time keep the caller's order);
    ``position(before_ns)`` finds, for every purchase at once, where its group's purchases
    at an earlier time start.
    """

    def __init__(self, groups: np.ndarray, times: np.ndarray):
        self._origin = int(times.min(initial=0))
        offsets = times - self._origin
        self._step = max(int(np.gcd.reduce(offsets)) if len(offsets) else 1, 1)
        self._span = int(offsets.max(initial=0)) // self._step
        self._by_rank = (int(groups.max(initial=0)) + 2) * (self._span + 2) >= KEY_LIMIT
        if self._by_rank:  # too many groups over too fine a time: rank the times instead
            self._distinct_times = _distinct(times)
            self._stride = 2 * len(self._distinct_times) + 2
            self.order = np.lexsort((np.arange(len(groups)), times, groups))
            self._keys = self._rank_key(groups[self.order], times[self.order], exact_only=True)
        else:
            keys = (groups + 1) * (self._span + 2) + offsets // self._step
            self.order = np.argsort(keys, kind="stable")
            self._keys = keys[self.order]
        self.groups = groups[self.order]
        self.times = times[self.order]
        self._now = self._search(self.times, include_equal=False)
        self._group_start = _group_start(self.groups)

    def _rank_key(self, groups: np.ndarray, times: np.ndarray, exact_only: bool = False,
                  ) -> np.ndarray:
        distinct = self._distinct_times
        slot = np.searchsorted(distinct, times, side="left")
        exact = 1 if exact_only else distinct[np.minimum(slot, len(distinct) - 1)] == times
        return (groups + 1) * self._stride + 2 * slot + exact

    def _search(self, times: np.ndarray, include_equal: bool) -> np.ndarray:
        side = "right" if include_equal else "left"
        if self._by_rank:
            return np.searchsorted(self._keys, self._rank_key(self.groups, times), side=side)
        offsets = times - self._origin
        # a purchase at offset o (a multiple of the step) is before t when o < ceil(t),
        # at or before t when o <= floor(t); clipped so a window never reaches another group
        units = offsets // self._step if include_equal else -((-offsets) // self._step)
        units = np.clip(units, -1, self._span + 1)
        return np.searchsorted(self._keys, (self.groups + 1) * (self._span + 2) + units,
                               side="right" if include_equal else "left")

    def position(self, before_ns: float = 0, include_equal: bool = False) -> np.ndarray:
        """Return, per sorted purchase, how many sorted purchases come before (its group, its
        time - ``before_ns``); ``include_equal``: at or before. Within its group, that is the
        sorted index where the window starting (or ending) at that time begins."""
        if before_ns == 0 and not include_equal:
            return self._now
        return self._search(self.times - np.int64(round(before_ns)), include_equal)

    def group_start(self) -> np.ndarray:
        """Return, per sorted purchase, the sorted index of its group's first purchase."""
        return self._group_start

    def window_sum(self, values: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
        """Return, per sorted purchase, the sum of ``values`` (sorted order) over the sorted
        rows [start, stop) of its own group (from :meth:`position`; 0 for an empty window).

        The running sum restarts at each group's first purchase, so a window's sum depends only
        on that group's purchases up to it: the same bits with or without other groups or later
        purchases in the frame.
        """
        running = pd.Series(values).groupby(self.groups, sort=False).cumsum().to_numpy()
        padded = np.concatenate(([0], running))
        before = np.where(start > self.group_start(), padded[start], 0)
        return np.where(stop > start, padded[stop] - before, 0)

    def to_caller_order(self, sorted_values: np.ndarray) -> np.ndarray:
        """Return values computed in sorted order, put back in the caller's row order."""
        values = np.empty_like(sorted_values)
        values[self.order] = sorted_values
        return values


def _group_start(sorted_groups: np.ndarray) -> np.ndarray:
    rows = np.arange(len(sorted_groups))
    first = np.ones(len(rows), dtype=bool)
    first[1:] = sorted_groups[1:] != sorted_groups[:-1]
    return np.maximum.accumulate(np.where(first, rows, 0)) if len(rows) else rows


def _distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (np.unique, without its slower path on this numpy)."""
    ordered = np.sort(values)
    keep = np.ones(len(ordered), dtype=bool)
    keep[1:] = ordered[1:] != ordered[:-1]
    return ordered[keep]
