"""The Indicator Catalogue v1 and the pure maths behind it.

``catalogue`` declares the indicators, scopes and breakdowns as data; ``partials`` holds the
mergeable per-force results (counts, numerator/denominator pairs, exact day histograms) and
turns them into published values. Nothing here reads a database or the network.
"""
