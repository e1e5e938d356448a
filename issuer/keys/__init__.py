"""Key material: the home folder, the keystore (anchor, signing keys, trust list), signing."""
