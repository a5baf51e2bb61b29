import os
import time
from concurrent.futures import ThreadPoolExecutor

import bcrypt

PASSWORD = b"a password of ordinary length"


def bcrypt_ceiling(cost: int, seconds: float) -> dict[str, float | int]:
    """Measure bcrypt checks per second at cost: on one thread, then on one thread per core."""
    password_hash = bcrypt.hashpw(PASSWORD, bcrypt.gensalt(cost))
    threads = os.cpu_count() or 1
    return {
        "cost": cost,
        "serial_per_s": round(_checks_per_second(1, password_hash, seconds), 2),
        "threads": threads,
        "parallel_per_s": round(_checks_per_second(threads, password_hash, seconds), 2),
    }


def _checks_per_second(threads: int, password_hash: bytes, seconds: float) -> float:
    """Run checks on threads until seconds have passed; return their summed rates."""

    def check_until(deadline: float) -> float:
        start = time.perf_counter()
        count = 0
        while time.perf_counter() < deadline:
            bcrypt.checkpw(PASSWORD, password_hash)
            count += 1
        # Each thread's own elapsed time includes its last check's overshoot past the deadline.
        return count / (time.perf_counter() - start)

    deadline = time.perf_counter() + seconds
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return sum(pool.map(check_until, [deadline] * threads))
