"""``make run``: the demo (``python -m issuer.demo``, in :mod:`.__main__`) sets up a home,
signs and verifies a code, seeds synthetic people (:mod:`.seed`) and runs the service."""
