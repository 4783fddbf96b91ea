"""The timing both Python benchmarks use (bench_pytorch.py, bench_keras.py), so their figures
are measured alike and like `cnn-lab bench`: a warm-up, then the median time per call over
chunks of calls filling about the given seconds."""

from __future__ import annotations

import statistics
import time

WARMUP_ITERS = 3
CHUNKS = 7  # the S seconds are split into about this many timed chunks


def timed(fn, seconds: float) -> float:
    """Median seconds per call of fn(), over chunks filling about `seconds`."""
    for _ in range(WARMUP_ITERS):
        fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-6)
    per_chunk = max(1, int(seconds / CHUNKS / one))
    samples = []
    deadline = time.perf_counter() + seconds
    while len(samples) < 3 or time.perf_counter() < deadline:
        t0 = time.perf_counter()
        for _ in range(per_chunk):
            fn()
        samples.append((time.perf_counter() - t0) / per_chunk)
    return statistics.median(samples)
