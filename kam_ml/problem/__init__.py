"""The point-in-time question: the cutoff rule, the active population, labels, time splits."""
