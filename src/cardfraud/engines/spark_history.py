"""The card-history features (issue 15) on Spark: window functions, the pandas answers.

:func:`card_history_features` adds to a Spark DataFrame the columns
:func:`cardfraud.modeling.history.card_history_features` returns, with the same names, float64
(``double``) values and meanings, computed on the executors with range windows over each card's
(or merchant's) purchases ordered by time in microseconds; nothing is collected to the driver.

The windows are the pandas ones, bound for bound, in whole microseconds ``T`` of ``t``:

- card counts and amount means over [t - window, t), purchases at the same time never seeing
  each other: the running total up to ``t - 1`` minus the one up to ``t - window - 1``
  (``rangeBetween(unboundedPreceding, -offset)``; running totals grow row by row, where a
  sliding frame is recomputed at every row, far too slow for a merchant with 100,000 purchases);
- previous purchase and previous known place: ``rangeBetween(unboundedPreceding, -1)``; among
  earlier purchases at the same time, the last in the frame's order (pandas: the caller's row
  order; Spark: ``monotonically_increasing_id`` of the input rows, their partition order);
- merchant fraud rate over (t - delay - 30 d, t - delay]: the running totals up to
  ``t - ceil(delay)`` minus up to ``t - ceil(delay + 30 d)`` (the lengths in nanoseconds
  rounded as pandas rounds them; with no delay the window ends at ``t - 1``, before t);
- first purchase at the merchant: the earliest time of the (card, merchant) pair.

Timestamps are counted as Spark holds them: a ``timestamp`` column in real (UTC) microseconds
and ``hour_of_day`` in the session time zone, a ``timestamp_ntz`` column as written (pandas'
naive times), text cast to a timestamp. Spark keeps microseconds, pandas nanoseconds: times
finer than a microsecond are not supported.
"""

from __future__ import annotations

import math
from datetime import datetime

from ..data.checks import MAX_RATIO
from ..data.derive import EARTH_RADIUS_KM
from ..data.schema import AMOUNT, CARD_ID, LATITUDE, LONGITUDE, MERCHANT_ID, TARGET, TIMESTAMP
from ..modeling.history import (
    AMOUNT_WINDOWS,
    COUNT_WINDOWS,
    MERCHANT_WINDOW_DAYS,
    MINUTES_CAP,
    SHORTEST_GAP_HOURS,
    SPEED_CAP_KMH,
    history_columns,
)
from ..modeling.history_windows import NANOSECONDS_PER_DAY, NANOSECONDS_PER_MINUTE

MICROSECONDS_PER_MINUTE = NANOSECONDS_PER_MINUTE // 1000
_TIME = "__history_time_us"  # working columns, dropped before returning
_ROW = "__history_row"
_EMPTY_ROWS_SHOWN = 5


def card_history_features(frame, label_delay_days: float = 7.0):
    """Return ``frame`` with the history features its columns allow added (double, no null).

    Args:
        frame: a Spark DataFrame of purchases with ``card_id`` and ``timestamp`` (any order;
            the features' other columns optional, see
            :func:`cardfraud.modeling.history.history_columns`).
        label_delay_days: days before a purchase by which a label is known (>= 0).

    Returns:
        ``frame``'s columns followed by one column per available feature, in
        ``HISTORY_FEATURES``' order (none added without card_id or timestamp).

    Raises:
        ValueError: an empty card_id or timestamp (naming how many and up to five of them;
            one aggregation job runs to check), or a negative delay.
    """
    from pyspark.sql import functions as F

    features = history_columns(frame.columns)
    if not features:
        return frame
    if not (math.isfinite(label_delay_days) and label_delay_days >= 0):
        raise ValueError(f"label_delay_days must be a number >= 0, got {label_delay_days!r}")
    _refuse_empty(frame, [CARD_ID, TIMESTAMP])
    work = frame.withColumn(_TIME, _microseconds(frame)).withColumn(
        _ROW, F.monotonically_increasing_id())
    columns = {**_card_counts(), "minutes_since_previous": _minutes_since_previous(),
               "hour_of_day": F.hour(_as_timestamp(frame)).cast("double")}
    if AMOUNT in frame.columns:
        columns.update(_amount_ratios())
    if {LATITUDE, LONGITUDE} <= set(frame.columns):
        columns["speed_from_previous_kmh"] = _speed_from_previous()
    if MERCHANT_ID in frame.columns:
        columns["first_purchase_at_merchant"] = _first_at_merchant(frame)
        if TARGET in frame.columns:
            columns["merchant_fraud_rate_30d"] = _merchant_fraud_rate(frame, label_delay_days)
    work = work.withColumns({name: columns[name].cast("double") for name in features})
    return work.drop(_TIME, _ROW)


def _refuse_empty(frame, columns: list[str]) -> None:
    """Raise ValueError when a card_id or timestamp is empty, naming a few such rows."""
    from pyspark.sql import functions as F

    counts = frame.agg(*(F.count_if(F.col(c).isNull()).alias(c) for c in columns)).first()
    for column in columns:
        if counts[column]:
            shown = frame.filter(F.col(column).isNull()).limit(_EMPTY_ROWS_SHOWN).collect()
            rows = "; ".join(str(row.asDict()) for row in shown)
            raise ValueError(f"{column}: {counts[column]:,} empty value(s) (e.g. {rows}); every "
                             f"purchase needs a {column} for its card's history")


def _as_timestamp(frame):
    """The timestamp column as a Spark timestamp (text cast; timestamp_ntz kept as written)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    column = F.col(TIMESTAMP)
    if isinstance(frame.schema[TIMESTAMP].dataType, StringType):
        return column.cast("timestamp")
    return column


def _microseconds(frame):
    """The purchase time in whole microseconds: real time for a timestamp, the time as written
    for a timestamp_ntz (as pandas counts naive times)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import TimestampNTZType

    if isinstance(frame.schema[TIMESTAMP].dataType, TimestampNTZType):
        # the written time's distance from 1970-01-01 00:00, added to the epoch: no DST jumps
        since_epoch = F.col(TIMESTAMP) - F.lit(datetime(1970, 1, 1)).cast("timestamp_ntz")
        return F.unix_micros(F.timestamp_micros(F.lit(0)) + since_epoch)
    return F.unix_micros(_as_timestamp(frame))


def _card_window():
    from pyspark.sql import Window

    return Window.partitionBy(CARD_ID).orderBy(_TIME)


def _window_total(aggregate, group: str, before_us: int, last_us: int):
    """``aggregate`` (a count or sum) over the group's purchases with time T in
    (t - before_us, t - last_us], as the difference of two running totals.

    Running totals (frames from unboundedPreceding) grow row by row, where a sliding frame is
    recomputed at every row: a merchant with 100,000 purchases would cost 100,000 times its
    30-day window. pandas computes the same differences of cumulative sums.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    ordered = Window.partitionBy(group).orderBy(_TIME)

    def up_to(offset):
        return F.coalesce(aggregate.over(ordered.rangeBetween(Window.unboundedPreceding, -offset)),
                          F.lit(0))
    return up_to(last_us) - up_to(before_us)


def _microseconds_of(nanoseconds: float) -> tuple[int, int]:
    """A window length in nanoseconds, rounded as pandas does, as (floor, ceil) microseconds."""
    whole = int(round(nanoseconds))
    return whole // 1000, -((-whole) // 1000)


def _card_counts() -> dict:
    """Purchases of the card in [t - window, t)."""
    from pyspark.sql import functions as F

    counts = {}
    for name, days in COUNT_WINDOWS.items():
        # T >= t - W (ns) holds for whole microseconds T exactly when T >= t - floor(W / 1000)
        start = _microseconds_of(days * NANOSECONDS_PER_DAY)[0]
        counts[name] = _window_total(F.count(F.lit(1)), CARD_ID, start + 1, 1)
    return counts


def _finite(name: str):
    """The column where it is a finite number, else null (numpy's isfinite)."""
    from pyspark.sql import functions as F

    value = F.col(name).cast("double")
    return F.when(~F.isnan(value) & (F.abs(value) < math.inf), value)


def _amount_ratios() -> dict:
    """Amount over the mean known amount of the card in [t - window, t), at most MAX_RATIO;
    1.0 for an empty window, a mean not positive or an unknown amount."""
    from pyspark.sql import functions as F

    amount = _finite(AMOUNT)
    ratios = {}
    for name, days in AMOUNT_WINDOWS.items():
        start = _microseconds_of(days * NANOSECONDS_PER_DAY)[0] + 1  # [t - W, t), as above
        total = _window_total(F.sum(amount), CARD_ID, start, 1)
        count = _window_total(F.count(amount), CARD_ID, start, 1)
        usable = amount.isNotNull() & (count > 0) & (total > 0)
        ratios[name] = F.when(usable, F.least(amount / (total / count), F.lit(MAX_RATIO))
                              ).otherwise(1.0)
    return ratios


def _minutes_since_previous():
    """Minutes since the card's latest earlier purchase, capped; the cap for the first."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    window = _card_window().rangeBetween(Window.unboundedPreceding, -1)
    previous = F.max(_TIME).over(window)
    minutes = (F.col(_TIME) - previous) / MICROSECONDS_PER_MINUTE
    return F.when(previous.isNull(), MINUTES_CAP).otherwise(F.least(minutes, F.lit(MINUTES_CAP)))


def _haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle km between points in degrees, as :func:`cardfraud.data.derive.haversine_km`."""
    from pyspark.sql import functions as F

    lat1, lon1, lat2, lon2 = (F.radians(c) for c in (lat1, lon1, lat2, lon2))
    a = (F.pow(F.sin((lat2 - lat1) / 2), 2)
         + F.cos(lat1) * F.cos(lat2) * F.pow(F.sin((lon2 - lon1) / 2), 2))
    return 2 * EARTH_RADIUS_KM * F.asin(F.sqrt(F.least(F.greatest(a, F.lit(0.0)), F.lit(1.0))))


def _speed_from_previous():
    """km/h from the card's latest earlier purchase with a known place, capped; 0 for the
    first purchase, an unknown place here or no known place before."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    lat, lon = _finite(LATITUDE), _finite(LONGITUDE)
    known = lat.isNotNull() & lon.isNotNull()
    # the latest (time, then row order) earlier purchase with a known place
    place = F.when(known, F.struct(F.col(_TIME).alias("t"), F.col(_ROW).alias("row"),
                                   lat.alias("lat"), lon.alias("lon")))
    origin = F.max(place).over(_card_window().rangeBetween(Window.unboundedPreceding, -1))
    km = _haversine_km(origin["lat"], origin["lon"], lat, lon)
    hours = F.greatest((F.col(_TIME) - origin["t"]) / (60 * MICROSECONDS_PER_MINUTE),
                       F.lit(SHORTEST_GAP_HOURS))
    speed = km / hours
    usable = known & origin.isNotNull() & ~F.isnan(speed)
    return F.when(usable, F.least(speed, F.lit(SPEED_CAP_KMH))).otherwise(0.0)


def _known_merchant(frame):
    """Whether the merchant id is given: not null, nor NaN in a float column (pandas' empty)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, FloatType

    merchant = F.col(MERCHANT_ID)
    if isinstance(frame.schema[MERCHANT_ID].dataType, (DoubleType, FloatType)):
        return merchant.isNotNull() & ~F.isnan(merchant)
    return merchant.isNotNull()


def _first_at_merchant(frame):
    """1 when the card has no earlier purchase at this merchant, else 0; 0 for no merchant."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    first_time = F.min(_TIME).over(Window.partitionBy(CARD_ID, MERCHANT_ID))
    return F.when(_known_merchant(frame) & (F.col(_TIME) == first_time), 1.0).otherwise(0.0)


def _merchant_fraud_rate(frame, label_delay_days: float):
    """The merchant's known frauds over its purchases in (t - delay - 30 d, t - delay]."""
    from pyspark.sql import functions as F

    delay_ns = label_delay_days * NANOSECONDS_PER_DAY
    reach_ns = delay_ns + MERCHANT_WINDOW_DAYS * NANOSECONDS_PER_DAY  # pandas' float sum
    # T > t - D (ns) for whole microseconds T: T >= t - ceil(D / 1000) + 1; T <= t - d: T <=
    # t - ceil(d / 1000); with no delay the window ends before t
    before, last = _microseconds_of(reach_ns)[1], _microseconds_of(delay_ns)[1] if delay_ns else 1
    known_fraud = F.when(F.col(TARGET).try_cast("double") == 1, 1).otherwise(0)
    frauds = _window_total(F.sum(known_fraud), MERCHANT_ID, before, last)
    count = _window_total(F.count(F.lit(1)), MERCHANT_ID, before, last)
    return F.when(_known_merchant(frame) & (count > 0), frauds / count).otherwise(0.0)
