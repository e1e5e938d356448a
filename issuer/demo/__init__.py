"""``make run``: the demo (``python -m issuer.demo``) and its synthetic people."""
