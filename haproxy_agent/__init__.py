"""HLS listener counts from a HAProxy stick table to the Event Hub (runs on the HAProxy host).

Not a Function: no function.json, excluded from the app's deployment (.funcignore). Run with
``python -m haproxy_agent --help``.
"""
