"""The defaults of `send`'s options, apart from delivery.py so that the command line can declare them
without importing httpx and asyncio (about 70 ms that dry-run, validate and explain do not need)."""

# Defaults. 1000 events is about 300 KB of JSON (60 KB gzipped) per request: at 50k events/s that is 50
# requests a second, so per-request overhead is negligible, while a failed batch costs little to retry or
# to bisect. The 1 MB bound keeps unusually large events (big `data` objects) from making huge requests.
DEFAULT_BATCH_SIZE = 1000
DEFAULT_BATCH_BYTES = 1 << 20
DEFAULT_CONCURRENCY = 4
DEFAULT_MAX_ATTEMPTS = 8
# Level 6 compresses LaunchDarkly events about 6:1 (level 1 about 5:1) and still runs at about 300k
# events/s on one core, in a worker thread (zlib releases the GIL) beside the mapping thread.
DEFAULT_GZIP_LEVEL = 6
DEFAULT_RETRY_BASE = 0.5  # seconds; attempt n waits uniform(0, min(cap, base * 2**(n-1)))
DEFAULT_RETRY_CAP = 30.0
DEFAULT_TIMEOUT = 30.0
