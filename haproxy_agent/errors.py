"""The agent's two kinds of trouble: the socket said something unusable, or a send failed."""


class AgentError(Exception):
    pass


class BadAnswer(AgentError):
    """HAProxy's answer cannot be counted (an error, wrong privileges, not HAProxy at all)."""


class SendFailed(AgentError):
    """Sending to the Event Hub failed after the retries."""
