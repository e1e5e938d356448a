"""``make run``: the main job on the embedded default.

Sets up an issuer home (``$HEALTHCODE_HOME``, else the current folder: keys in ``./keys``) if
there is none, keeps its trust list fresh, signs a demo code, renders it as PNG and text in
``./out``, then checks it the way a checkpoint would: the verifier library alone, reading the
PNG with only the trust list and the pinned anchor. Then it seeds synthetic people into the
embedded SQLite database (first run only) and serves the issuer on http://127.0.0.1:8080
(``--no-serve`` stops after the check).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from verifier import TrustList, TrustListError, verify_image
from verifier.timefmt import shown

from ..keys.home import Home
from ..keys.keystore import TRUST_LIST_REFRESH, init_home, load_config, load_signing_key
from ..keys.keystore import publish_trust_list as publish
from ..keys.signing import issue_credential
from ..render.qr import write_code

DEMO_TTL = 24 * 3600


def main(out_dir: str = "out", serve: bool = True) -> int:
    home = Home.resolve()
    now = int(time.time())
    if not home.issuer_config.exists():
        init_home(home, now=now)
        print(f"Created issuer keys and a signed trust list in {home.keys}")
    else:
        print(f"Using the issuer keys in {home.keys}")
        config = load_config(home)
        if config.trust_list_exp - now < TRUST_LIST_REFRESH:
            publish(home, config, now)
            print("Re-signed the trust list (it was close to expiry)")
    key, config, _ = load_signing_key(home)
    text = issue_credential(key, iss=config.iss, colour="green", score=87, iat=now, ttl=DEMO_TTL)
    out = Path(out_dir)
    out.mkdir(exist_ok=True)
    png, txt = out / "demo-code.png", out / "demo-code.txt"
    qr = write_code(text, png)
    write_code(text, txt)
    print(f"\nIssued a demo code: green, score 87, expires {shown(now + DEMO_TTL)}")
    print(f"  QR version {qr.version}-{qr.error}, {qr.symbol_size(border=0)[0]} modules a side,"
          f" {len(text)} characters: {png}")
    print(f"  text: {text}")
    try:
        trust = TrustList.load(home.trust_list, home.anchor_public)
    except TrustListError as exc:
        print(f"\nThe trust list in {home.keys} does not verify ({exc}). If these are old demo "
              f"keys, move {home.keys} aside and run again to make new ones.", file=sys.stderr)
        return 1
    credential = verify_image(png, trust)
    print(f"\nVerified {png} offline with the trust list alone:")
    print(f"  VALID {credential.colour.value.upper()} score {credential.score}, "
          f"issuer {credential.iss}, expires {shown(credential.exp)}")
    print(f"\nTry: .venv/bin/healthcode-verifier check {png} --trust {home.trust_list} --json")
    if serve:
        run_service(home, now)
    return 0


def run_service(home: Home, now: int, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Seed the demo people (first run only), make a demo token, and serve until Ctrl-C."""
    import waitress

    from ..web import create_app
    from .seed import seed

    app = create_app({"HOME": str(home.root)})
    service = app.extensions["healthcode"]
    enrolled = seed(service, now)
    if enrolled:
        print(f"\nSeeded {enrolled} synthetic people in {home.root / 'issuer.db'}")
    _, secret = service.create_token("write", "make run demo", now)
    base = f"http://{host}:{port}"
    some = service.store.person_ids()[0]
    enrolment = service.store.create_enrolment(some, actor="make run demo")
    print(f"""
The issuer service is running on {base}  (Ctrl-C stops it)
  start page        {base}/  (in Chinese, or English: the switch on every page)
  a holder's phone  {base}/enrol/{enrolment}  (one-time link: open it in a browser)
  staff: find people, print cards  {base}/staff
  checkpoint (phone) {base}/checkpoint/  (scans and checks codes in the browser, offline)
  API docs          {base}/api/docs
  OpenAPI           {base}/api/openapi.json
  published policy  {base}/policy/{service.policy.id}
  trust list        {base}/trust/trust-list.json  (checkpoints: healthcode-verifier sync {base})
  demo write token  {secret}

  curl -H 'Authorization: Bearer {secret}' {base}/api/people/{some}/assessment
  curl -H 'Authorization: Bearer {secret}' {base}/api/organisations/ranking
""", flush=True)
    try:
        waitress.serve(app, host=host, port=port, threads=8, ident="healthcode")
    except OSError as exc:
        print(f"Cannot listen on {host}:{port}: {exc.strerror}. Is another `make run` still "
              f"running? Stop it, or serve elsewhere: healthcode-issuer serve --port N",
              file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    sys.exit(main(serve="--no-serve" not in sys.argv))
