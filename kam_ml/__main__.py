"""``python -m kam_ml`` runs the CLI (the tests use it to run the installed package)."""

from kam_ml.cli import app

app()
