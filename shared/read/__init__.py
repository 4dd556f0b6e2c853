"""The read side served over HTTP: the live API and health, the live page's feed, viewer tokens."""
