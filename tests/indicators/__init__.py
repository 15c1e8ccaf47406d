"""Indicator engine tests: reference agreement, rollup maintenance, as-at, quality."""
