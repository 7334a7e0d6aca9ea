"""Time windows over a card's (or a merchant's) earlier purchases, found by binary search.

The purchases are sorted once by (group, time); a window "the group's purchases with time in
[a, b)" is then two ``numpy.searchsorted`` calls on one sorted int64 key per purchase, and any
sum over the window is a difference of cumulative sums. No loop over rows or groups.

The key of a purchase is ``group * stride + rank(time)``, where ``rank`` places a time among the
sorted distinct purchase times (a purchase time gets an odd rank, a time between two of them
the even rank between): comparing keys compares (group, time) exactly, whatever the times'
resolution, and cannot overflow (at most ``groups * (2 * times + 2)``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NANOSECONDS_PER_MINUTE = 60 * 10 ** 9
NANOSECONDS_PER_DAY = 24 * 60 * NANOSECONDS_PER_MINUTE


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
        self.order = np.lexsort((np.arange(len(groups)), times, groups))
        self.groups = groups[self.order]
        self.times = times[self.order]
        self._distinct_times = np.unique(self.times)
        self._stride = 2 * len(self._distinct_times) + 2
        self._keys = self._key(self.groups, self.times)

    def _key(self, groups: np.ndarray, times: np.ndarray) -> np.ndarray:
        distinct = self._distinct_times
        slot = np.searchsorted(distinct, times, side="left")
        exact = distinct[np.minimum(slot, len(distinct) - 1)] == times if len(distinct) else slot < 0
        return groups * self._stride + 2 * slot + exact

    def position(self, before_ns: float = 0, include_equal: bool = False) -> np.ndarray:
        """Return, per sorted purchase, how many sorted purchases come before (its group, its
        time - ``before_ns``); ``include_equal``: at or before. Within its group, that is the
        sorted index where the window starting (or ending) at that time begins."""
        times = self.times - np.int64(round(before_ns))
        return np.searchsorted(self._keys, self._key(self.groups, times),
                               side="right" if include_equal else "left")

    def group_start(self) -> np.ndarray:
        """Return, per sorted purchase, the sorted index of its group's first purchase."""
        rows = np.arange(len(self.groups))
        first = np.ones(len(rows), dtype=bool)
        first[1:] = self.groups[1:] != self.groups[:-1]
        return np.maximum.accumulate(np.where(first, rows, 0))

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
