"""The agent's two kinds of trouble: the socket said something unusable, or a send failed.

Both are in the app's one error tree (shared.core.errors): a bad answer is bad input, a failed
send may succeed on the next interval.
"""

from shared.core.errors import BadInputError, FabrikError, RetriableError


class AgentError(FabrikError):
    """What stops one round of the agent; the next round tries again."""


class BadAnswer(AgentError, BadInputError):
    """HAProxy's answer cannot be counted (an error, wrong privileges, not HAProxy at all)."""


class SendFailed(AgentError, RetriableError):
    """Sending to the Event Hub failed after the retries."""
