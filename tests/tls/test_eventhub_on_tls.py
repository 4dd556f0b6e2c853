"""tests/eventhub_to_redis/test_function.py on a TLS-only Redis and Redis Cluster: every test but
the one about an unreachable plain-text Redis."""

from tests.eventhub_to_redis.test_function import *  # noqa: F401,F403

del test_redis_down_raises_so_the_host_retries_and_nothing_is_claimed  # noqa: F821
