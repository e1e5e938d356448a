"""The checkpoint app that runs in the browser of staff's phones: decoding (zxing-wasm) and
verification (the verifier in JavaScript, ``verifier/static/verifier/``) happen in the page,
against lists kept on the device, so it needs no server after its first load.

:func:`blueprint` serves it at ``/checkpoint/``; the issuer and ``healthcode-verifier kiosk``
both register it, each giving the anchor pin it trusts.
"""

from .views import CONTENT_SECURITY_POLICY, blueprint

__all__ = ["CONTENT_SECURITY_POLICY", "blueprint"]
