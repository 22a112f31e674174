"""Model versions: MLflow tracking, exported bundles, the promotion gate and champion resolution.

It imports no model family; each domain hands it what it needs."""
