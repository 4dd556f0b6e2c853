"""Local stand-ins for the components the app talks to, started as real processes.

Used by the tests (fixtures) and by ``make run``. Never deployed (see .funcignore).
"""
