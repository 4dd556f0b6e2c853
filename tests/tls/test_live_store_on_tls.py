"""tests/shared/test_live_store.py against a TLS-only Redis (fixtures: conftest.py): every test
but the two that are about something else (a plain connection class counting round trips, and
an unreachable plain-text Redis)."""

from tests.shared.test_live_store import *  # noqa: F401,F403

del test_a_batch_is_one_round_trip_whatever_its_size, test_redis_down_raises_retriable_and_claims_nothing  # noqa: F821
