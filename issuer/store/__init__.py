"""The issuer's database: everything it keeps, and the only way in.

- :mod:`.repository` (:class:`Store`, with :mod:`.observation_store` (recorded, voided),
  :mod:`.credential_store`, :mod:`.holder_store` and :mod:`.base`): every read and write, each
  write in one transaction with its audit entry;
- :mod:`.db`: the tables (SQLAlchemy models), ``NotFound`` and ``Conflict``; :mod:`.engine`;
- the records, each a module of functions that take a session: :mod:`.people`, :mod:`.holders`
  (phones, enrolment links, sign-in codes), :mod:`.family` (guardians' links to dependants),
  :mod:`.credentials` (and re-issue runs),
  :mod:`.tokens`, :mod:`.audit` (the hash chain), :mod:`.ranking`;
- the audit log's checks: :mod:`.audit_tables` (the tables against what the log recorded) and
  :mod:`.audit_store` (:class:`AuditStore`: the full check, and the API's incremental one);
- :mod:`.pii`: the keys that encrypt personal fields, and the MACs that find them;
- :mod:`.migrations`: the schema, created and changed only by Alembic revisions.
"""

from .credential_store import SUPERSEDED
from .db import Conflict, NotFound, StoreError
from .family import FamilyError, FamilyProblem
from .holders import HolderError, HolderProblem
from .observation_store import Rescored
from .pii import DataKeyError
from .repository import Store

__all__ = ["SUPERSEDED", "Conflict", "DataKeyError", "FamilyError", "FamilyProblem",
           "HolderError", "HolderProblem", "NotFound", "Rescored", "Store", "StoreError"]
