"""The scoring policy: what is observed about a person, the published rules, and the score.

- :mod:`.observations`: the kinds of observation and their checks (the inputs);
- :mod:`.scoring`: rules, factors and :meth:`Policy.score`, a pure function of the
  observations and the time, giving an :class:`Assessment` whose contributions add up;
- :mod:`.document`: reading and checking the published TOML documents in ``policies/``,
  whose exact bytes (and digest) are what each credential pins.

Everything a caller needs is importable from here.
"""

from .document import (
    POLICY_ID,
    PolicyError,
    PolicyProblem,
    list_policies,
    load_policy,
    parse_policy,
)
from .observations import Kind, Observation, ObservationError, validate_observation
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

__all__ = [
    "DIGEST_LENGTH", "POLICY_ID", "Assessment", "Contribution", "ContributionKind", "Factor",
    "Kind", "Method", "Observation", "ObservationError", "Policy", "PolicyError",
    "PolicyProblem", "Rounding", "Rule", "list_policies", "load_policy", "parse_policy",
    "validate_observation",
]
