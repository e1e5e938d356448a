"""The scoring policy: observations, the published policy documents and the scoring."""
