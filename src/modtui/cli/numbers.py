"""Number types for options that click's own would let NaN through."""

from __future__ import annotations

import math

import click


class _Ratio(click.FloatRange):
    """A number from 0 to 1. NaN is refused: it compares false with everything, so its gate could never fail
    and a threshold of NaN would select nothing (and be written into JSON as `NaN`, which is not JSON)."""

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        number = super().convert(value, param, ctx)
        if math.isnan(number):
            self.fail(f"{value!r} is not a number in the range {self._describe_range()}.", param, ctx)
        return number


RATIO = _Ratio(0.0, 1.0)
SHARE = _Ratio(0.0, 1.0, min_open=True, max_open=True)  # a share strictly between 0 and 1 (sample plan)
