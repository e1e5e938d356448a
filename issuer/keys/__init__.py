"""Key material and signing, the issuer's lowest layer: :mod:`.home` (the home folder, its
files, the passphrase, atomic 0600 writes), :mod:`.keystore` (the trust anchor, signing keys
and their windows, rotation and retirement, the signed trust list), :mod:`.signing` (COSE and
JWS signatures, and a credential's QR text from its claims)."""
