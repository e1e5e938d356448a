"""The scoring policy: what is observed about a person, the published rules, and the score.

- :mod:`.observations`: the kinds of observation and their checks (the inputs);
- :mod:`.terms`: a policy's rules and factors, and how it rounds;
- :mod:`.scoring`: :meth:`Policy.score`, a pure function of the observations and the time,
  giving an :class:`Assessment` whose contributions add up;
- :mod:`.tally`: the same score and colour in integers, without the explanation
  (:meth:`Policy.score_fast`, for bulk re-issue);
- :mod:`.document`: reading and checking the published TOML documents in ``policies/``,
  whose exact bytes (and digest) are what each credential pins;
- :mod:`.outlook`: when a colour changes if nothing new is recorded, and what to do;
- :mod:`.wording`: texts in both languages, numbers and dates for people.

Everything a caller needs is importable from here.
"""

from .document import (
    DEFAULT_POLICY,
    POLICY_ID,
    PolicyError,
    PolicyProblem,
    list_policies,
    load_policy,
    parse_policy,
)
from .observations import Kind, Observation, ObservationError, validate_observation
from .outlook import Change, Outlook, advice, outlook
from .scoring import (
    DIGEST_LENGTH,
    Assessment,
    Contribution,
    ContributionKind,
    Factor,
    Method,
    Policy,
    Rounding,
    Rule,
)
from .terms import Recourse, Retention
from .wording import Guidance, Text

__all__ = [
    "DEFAULT_POLICY", "DIGEST_LENGTH", "POLICY_ID", "Assessment", "Change", "Contribution",
    "ContributionKind", "Factor", "Guidance", "Kind", "Method", "Observation",
    "ObservationError", "Outlook", "Policy", "PolicyError", "PolicyProblem", "Recourse",
    "Retention", "Rounding", "Rule", "Text", "advice", "list_policies", "load_policy",
    "outlook", "parse_policy", "validate_observation",
]
