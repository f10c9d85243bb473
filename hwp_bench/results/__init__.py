"""Result files (schema, atomic write, read, verify), hashing and aggregation.

See :mod:`hwp_bench.results.schema` for the file format and :mod:`hwp_bench.results.aggregate`
for per-capture, per-group, across-seed and paired summaries.
"""

from hwp_bench.results.hashing import (
    hash_ground_truth,
    hash_predictions,
)
from hwp_bench.results.schema import (
    SCHEMA_VERSION,
    ResultError,
    build_result,
    finalize_result,
    package_versions,
    read_result,
    result_filename,
    verify_result,
    write_result,
)

__all__ = [
    "SCHEMA_VERSION",
    "ResultError",
    "build_result",
    "finalize_result",
    "hash_ground_truth",
    "hash_predictions",
    "package_versions",
    "read_result",
    "result_filename",
    "verify_result",
    "write_result",
]
