"""Evaluation protocols: named, parameterised ways of turning a render into scores.

One module per protocol (``hwp_v1``, ``wildghand_paper``, ...), the :class:`Protocol` base in
``base`` and the lookup in ``registry``. Built-in protocols are registered as entry points of
the group ``hwp_bench.protocols`` in ``pyproject.toml``, the same door a plugin uses (see
``docs/extending.md``).
"""

from hwp_bench.metrics.conventions import DEFAULT_PROTOCOL, HIGHER_IS_BETTER
from hwp_bench.metrics.protocols.base import (
    MSE_FLOOR,
    Protocol,
    UnscorableFrame,
    quantise_8bit,
    split_scorable,
)
from hwp_bench.metrics.protocols.hwp_v1 import HwpV1
from hwp_bench.metrics.protocols.registry import (
    ProtocolUnavailable,
    get_protocol,
    list_protocols,
    register_protocol,
)
from hwp_bench.metrics.protocols.wildghand_paper import WildGHandPaper

__all__ = [
    "DEFAULT_PROTOCOL",
    "HIGHER_IS_BETTER",
    "MSE_FLOOR",
    "HwpV1",
    "Protocol",
    "ProtocolUnavailable",
    "UnscorableFrame",
    "WildGHandPaper",
    "get_protocol",
    "list_protocols",
    "quantise_8bit",
    "register_protocol",
    "split_scorable",
]
