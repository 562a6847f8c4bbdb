"""Releasing a format version and correcting a released one: the release gate and locks (``versions``) and
the errata (``errata``)."""
