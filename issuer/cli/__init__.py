"""``healthcode-issuer``: the command line. Each command only parses its options, calls the
issuer's library (:mod:`issuer.service`, :mod:`issuer.keys`) and turns errors into messages
and exit codes. ``main`` groups the commands of :mod:`.codes` (init, issue, trust-list, print),
:mod:`.keys` (keys, revoke), :mod:`.service` (serve, token, audit) and :mod:`.reissue`; what
they share
is in :mod:`.common`."""

from .main import main

__all__ = ["main"]
