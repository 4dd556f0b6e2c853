"""The life of a run: start and finish, run reports and status, logging, health limits and
verdicts, the first-run marker."""
