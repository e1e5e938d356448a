"""The issuer's operations, used by the web app and the CLI alike.

- :mod:`.issuance`: :class:`IssuerService`, one issuer's store, current signing key and
  published policy: enrol people, record observations (audited with any colour change they
  cause), assess, take holders' declarations, issue static and live credentials, and gather
  everything held about a person;
- :mod:`.cards`: printable cards, a static credential on paper for people without a smartphone;
- :mod:`.reissue`: re-score everyone and issue fresh credentials in resumable batches;
- :mod:`.revocations`: sign and publish the revocation list beside the trust list;
- :mod:`.auditlog`: the audit log's head, signed, to be kept outside the database.
"""

from ..store.db import Erased
from .issuance import Conflict, IssuerService, NotFound

__all__ = ["Conflict", "Erased", "IssuerService", "NotFound"]
