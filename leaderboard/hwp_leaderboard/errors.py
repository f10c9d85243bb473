"""The one exception a submission can fail with, carrying a reason its team may read.

Everything the server tells a team about a rejected submission goes through
:class:`SubmissionError`. Reasons name files, sizes and limits, never ground-truth values, so
they are safe to store, return and log.
"""

from __future__ import annotations


class SubmissionError(ValueError):
    """A submission is invalid; ``reason`` is a short sentence meant for the submitting team.

    ``code`` is a stable machine-readable category (``traversal``, ``zip-bomb``, ``symlink``,
    ``missing-frames``, ``wrong-size``, ``not-png`` ...) that tests and clients can match on.
    """

    def __init__(self, code: str, reason: str) -> None:
        reason = printable(reason)
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "reason": self.reason}


def printable(text: str, limit: int = 1000) -> str:
    """``text`` on one line with control and format characters escaped (``\\x00``,
    ``\\u202e``): a reason may quote a file name or key from the submission."""
    import unicodedata

    out = []
    for ch in str(text)[:limit]:
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)
