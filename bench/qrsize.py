"""QR size of a typical static credential, next to the EU Digital COVID Certificate's median.

Size is not a timing, but it decides scanning: at one printed or on-screen width, fewer modules
means larger modules, which survive blur and distance (docs/DESIGN notes).
"""

from __future__ import annotations

from issuer.render import make_qr
from verifier import CREDENTIAL_PREFIX
from verifier.base45 import b45decode

from . import report
from .fixtures import make_issuer
from .timing import Settings

#: The EU Digital COVID Certificate's median, as the design notes give it (not measured here).
EU_DCC_VERSION, EU_DCC_ECC, EU_DCC_MODULES, EU_DCC_CHARS = 18, "Q", 89, 555
POLICY = bytes(8)


def run(settings: Settings) -> report.Section:
    """Return the Markdown section for QR size."""
    issuer = make_issuer()
    rows = []
    for label, policy in (("static credential, no policy digest", None),
                          ("static credential + 8-byte policy digest", POLICY)):
        text = issuer.issue(policy=policy)
        qr = make_qr(text)
        modules = qr.symbol_size(border=0)[0]
        cose = len(b45decode(text[len(CREDENTIAL_PREFIX):]))
        rows.append([label, str(cose), str(len(text)), f"{qr.version}-{qr.error}",
                     f"{modules}×{modules}", f"{EU_DCC_MODULES / modules:.2f}×"])
    rows.append(["EU DCC median (design-doc figure, not measured)", "", f"~{EU_DCC_CHARS}",
                 f"{EU_DCC_VERSION}-{EU_DCC_ECC}", f"{EU_DCC_MODULES}×{EU_DCC_MODULES}", "1.00×"])
    body = "\n".join([
        "### 5. QR size",
        "",
        "ES256, issuer id `HZ`, green, score 87, 12-byte `cti`; rendered by "
        "`issuer.render.make_qr` (segno, alphanumeric mode, ECC M, no boost). The last column "
        "is the module size at the same printed width, relative to the EU certificate.",
        "",
        report.table(["credential", "COSE bytes", "QR characters", "version-ECC",
                      "modules (no quiet zone)", "module size vs EU DCC"], rows),
    ])
    plain = rows[0]
    return report.Section(body, [
        ["QR size, static credential (no policy)", f"version {plain[3]}, {plain[4]}",
         f"{plain[2]} characters; EU DCC median 18-Q, 89×89, ~555"],
    ])
