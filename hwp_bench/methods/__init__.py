"""Methods: the contract (a leaf), MethodBase, configs and presets, the plugin registry, the
contract check (``hwp-bench test-method``) and the built-in reference methods.

Import the public names from :mod:`hwp_bench.api`; this package keeps its modules apart so that
each has one job (see ``docs/extending.md`` for writing a method).
"""
