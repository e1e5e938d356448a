"""``python -m issuer.cli``: the same as ``healthcode-issuer`` (how ``reissue --workers``
starts its worker processes with this interpreter)."""

from .main import main

main()
