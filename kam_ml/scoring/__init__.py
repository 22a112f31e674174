"""One scoring path, shared by ``kam-ml score``, the nightly job and the API."""
