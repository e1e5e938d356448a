"""Pictures of codes: :mod:`.qr` (QR symbols as PNG, SVG or text, and the enrolment link's SVG;
a code's fixed mask from :mod:`.qrmask`, its modules from :mod:`.qrfast`, its PNG from
:mod:`.png`) and :mod:`.card` (the printed card's PDF layout). Pure: text and fields in, bytes
out."""
