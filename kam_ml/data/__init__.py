"""Raw source tables to trusted ones: the data contract, sources, validation and quarantine."""
