"""The live store in Redis: records and key names, the compact series encoding, per-edge HLS
counts, event counts, writes and reads."""
