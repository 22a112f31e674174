"""The nightly job and everything it writes: scores, risk lists, portfolio and the API snapshot."""
