"""Fuzz pass over every untrusted input: submission zips (validator and HTTP upload), manifests,
result files and pickles. A seeded generator mutates genuine inputs (byte flips, truncation,
spliced opcodes, retyped JSON values, renamed zip entries, odd PNGs ...) and checks each outcome:

* nothing raises anything but the input's documented error (:class:`SubmissionError` with a
  known code, :class:`ResultError`, :class:`UnsafePickleError`); no HTTP 500, no traceback;
* what is accepted is valid, judged by a slow, independent reference check: a zip's every entry
  re-read and every PNG's header and pixels decoded; a manifest's raw JSON types and every
  character; a result file's canonical content equal to the genuine one; a pickle's every
  object of an allowed type, arrays no larger than the pickle's own bytes;
* every HTTP upload is answered 202/413/422 and recorded (none lost).

    python benchmarks/fuzz.py [--scale 10] [--seed 0]

prints the cases per input kind, how many were accepted and how many were refused with each
code, and exits 1 on any violation. ``tests/fuzz/test_fuzz.py`` runs the same pass at
``scale=1`` (about 2,400 cases) in the fast suite.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import struct
import sys
import tempfile
import time
import traceback
import unicodedata
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: Cases per kind at scale 1 (the fast suite's size).
BASE_CASES = {"zip": 700, "upload": 150, "manifest": 500, "result": 500, "pickle": 600}
SUBMISSION_CODES = {
    "bad-manifest", "bad-png", "bad-png-mode", "bad-protocol", "bad-zip", "duplicate",
    "encrypted", "image-too-large", "missing-frames", "missing-manifest", "not-png", "not-zip",
    "symlink", "too-large", "too-many-files", "traversal", "unexpected-file",
    "unexpected-frames", "unsupported-compression", "wrong-dataset", "wrong-size", "zip-bomb",
    "unreadable-archive",
}  # fmt: skip
H, W = 12, 16
CAPTURES = {"capture04": [18, 19], "capture05": [20]}


@dataclass
class Tally:
    """Outcomes per input kind (``accepted`` or the refusal's code) and every violation."""

    outcomes: dict[str, Counter] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, kind: str, outcome: str) -> None:
        self.outcomes.setdefault(kind, Counter())[outcome] += 1

    def violate(self, kind: str, case: str, what: str) -> None:
        self.violations.append(f"{kind} {case}: {what}")

    def cases(self, kind: str | None = None) -> int:
        kinds = [kind] if kind else list(self.outcomes)
        return sum(sum(self.outcomes.get(k, Counter()).values()) for k in kinds)

    def lines(self) -> list[str]:
        out = []
        for kind, c in self.outcomes.items():
            refused = {k: v for k, v in c.items() if k != "accepted"}
            top = ", ".join(f"{k} {v}" for k, v in sorted(refused.items(), key=lambda kv: -kv[1]))
            out.append(
                f"{kind:9s} {sum(c.values()):6d} cases  {c.get('accepted', 0):5d} accepted  "
                f"{sum(refused.values()):6d} refused ({top})  {self.seconds.get(kind, 0):.1f} s"
            )
        out.append(f"violations: {len(self.violations)}")
        return out


def _where(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    last = tb[-1] if tb else None
    loc = f" at {Path(last.filename).name}:{last.lineno}" if last else ""
    return f"{type(exc).__name__}: {str(exc)[:160]}{loc}"


# -- generic mutations ----------------------------------------------------------------------------
def mutate_bytes(rng: np.random.Generator, data: bytes) -> bytes:
    """One random byte-level edit: flips, a run of 0x00/0xff, truncation, insertion, a repeated
    or deleted slice."""
    b = bytearray(data)
    n = max(len(b), 1)
    kind = int(rng.integers(0, 6))
    if kind == 0:
        for _ in range(int(rng.integers(1, 9))):
            if b:
                b[int(rng.integers(0, len(b)))] ^= 1 << int(rng.integers(0, 8))
    elif kind == 1 and b:
        i = int(rng.integers(0, len(b)))
        b[i : i + int(rng.integers(1, 65))] = bytes([int(rng.choice([0, 255]))]) * int(
            rng.integers(1, 65)
        )
    elif kind == 2:
        b = b[: int(rng.integers(0, n))]
    elif kind == 3:
        i = int(rng.integers(0, n))
        b[i:i] = rng.integers(0, 256, int(rng.integers(1, 33)), dtype=np.uint8).tobytes()
    elif kind == 4 and b:
        i = int(rng.integers(0, len(b)))
        j = min(len(b), i + int(rng.integers(1, 257)))
        b[i:i] = b[i:j] * int(rng.integers(1, 4))
    elif b:
        i = int(rng.integers(0, len(b)))
        del b[i : i + int(rng.integers(1, 257))]
    return bytes(b)


_ODD_TEXT = [
    "", " ", "x" * 300, "a\x00b", "evil\u202etxt", "\u2066rtl\u2069", "line\nbreak",
    "tab\tbed", "\u2028", "\ud800", "é", "日本語", "Kamran\u200cpour", "٣٤", "../../etc",
    "javascript:alert(1)", "https://ok.example/x", "http://a b", "<script>", "\ufeffbom",
]  # fmt: skip


def random_value(rng: np.random.Generator, depth: int = 0) -> Any:
    """A JSON value of a random type: odd strings, edge numbers, deep or wide containers."""
    k = int(rng.integers(0, 12))
    if k == 0:
        return None
    if k == 1:
        return bool(rng.integers(0, 2))
    if k == 2:
        return int(rng.choice([0, -1, 1, 12, 2**31, 2**63, 10**30]))
    if k == 3:
        return float(rng.choice([0.0, -0.0, 12.0, 1e9, 1e10, -5.5, 1e308, math.nan, math.inf]))
    if k in (4, 5):
        return _ODD_TEXT[int(rng.integers(0, len(_ODD_TEXT)))]
    if k == 6:
        return str(float(rng.choice([12.0, 1e3])))  # a number as a string
    if k == 7 and depth < 3:
        return [random_value(rng, depth + 1) for _ in range(int(rng.integers(0, 4)))]
    if k == 8 and depth < 3:
        return {str(random_value(rng, 3)): random_value(rng, depth + 1) for _ in range(2)}
    if k == 9:
        return json.loads("[" * 50 + "]" * 50)
    return "".join(chr(int(c)) for c in rng.integers(0, 0x3000, int(rng.integers(1, 12))))


def deep_json(levels: int) -> str:
    return "[" * levels + "]" * levels


def json_text(rng: np.random.Generator, obj: Any) -> bytes:
    """``obj`` as JSON text, sometimes then byte-mutated, nested 20,000 deep or duplicated."""
    k = int(rng.integers(0, 10))
    if k == 0:
        return mutate_bytes(rng, json.dumps(obj).encode())
    if k == 1 and isinstance(obj, dict) and obj:
        key = list(obj)[int(rng.integers(0, len(obj)))]
        return json.dumps(obj)[:-1].encode() + b', "' + key.encode() + b'": 1}'  # duplicate
    if k == 2 and isinstance(obj, dict) and obj:
        key = list(obj)[int(rng.integers(0, len(obj)))]
        text = json.dumps({k2: v for k2, v in obj.items() if k2 != key})
        return (text[:-1] + f', "{key}": ' + deep_json(20_000) + "}").encode()
    return json.dumps(obj, ensure_ascii=bool(rng.integers(0, 2))).encode("utf-8", "surrogatepass")


def mutate_json(rng: np.random.Generator, obj: Any) -> Any:
    """A copy of ``obj`` with one random node replaced, deleted or added."""
    obj = json.loads(json.dumps(obj))
    nodes: list[tuple[Any, Any]] = []

    def walk(o: Any) -> None:
        if isinstance(o, dict):
            for k in o:
                nodes.append((o, k))
                walk(o[k])
        elif isinstance(o, list):
            for i in range(len(o)):
                nodes.append((o, i))
                walk(o[i])

    walk(obj)
    if not nodes:
        return random_value(rng)
    parent, key = nodes[int(rng.integers(0, len(nodes)))]
    k = int(rng.integers(0, 5))
    if k == 0 and isinstance(parent, dict):
        del parent[key]
    elif k == 1 and isinstance(parent, dict):
        parent[f"x{int(rng.integers(0, 9))}"] = random_value(rng)
    elif k == 2 and isinstance(parent[key], (int, float)) and not isinstance(parent[key], bool):
        parent[key] = parent[key] + float(rng.choice([1e-9, 0.5, -1.0, 10.0]))
    else:
        parent[key] = random_value(rng)
    return obj


# -- submissions ----------------------------------------------------------------------------------
def ground_truth():
    from hwp_leaderboard.groundtruth import FramesGroundTruth

    from hwp_bench.data import Frame, HandParams

    rng = np.random.default_rng(7)
    K = np.array([[20.0, 0, W / 2], [0, 20.0, H / 2], [0, 0, 1]], np.float32)
    frames = {
        cap: [
            Frame(
                image=rng.uniform(0, 1, (H, W, 3)).astype(np.float32),
                capture=cap,
                index=i,
                num_frames=idx[-1] + 1,
                K=K,
                hands={"right": HandParams(np.zeros(48), np.zeros(10), [0, 0, 0.5])},
                mask=np.ones((H, W), np.float32),
                hand_type="inter",
                split="test",
                tags=["hoi"],
            )
            for i in idx
        ]
        for cap, idx in CAPTURES.items()
    }
    return FramesGroundTruth(frames, {"inter": list(CAPTURES)}, dataset_id="fuzz")


def png(arr: np.ndarray, mode: str) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr, mode).save(buf, format="PNG")
    return buf.getvalue()


MANIFEST = {"method": "fuzz", "authors": ["A. Tester"], "split": "inter", "fit_time_s": 12.5}


def genuine_entries(rng: np.random.Generator) -> list[tuple[str, bytes]]:
    entries = [("manifest.json", json.dumps(MANIFEST).encode())]
    for cap, idx in CAPTURES.items():
        for i in idx:
            img = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
            entries.append((f"renders/{cap}/{i:05d}.png", png(img, "RGB")))
            if i % 2 == 0:
                alpha = rng.integers(0, 256, (H, W), dtype=np.uint8)
                entries.append((f"renders/{cap}/{i:05d}.alpha.png", png(alpha, "L")))
    return entries


def raw_png(
    h: int, w: int, depth: int, ctype: int, *, extra: bytes = b"", rows: int | None = None
) -> bytes:
    """A PNG written by hand (any bit depth and colour type); ``rows`` limits the pixel data
    actually stored, for a header that declares far more than it holds."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ch = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
    row = b"\x00" + bytes(max(1, w * ch * depth // 8))
    ihdr = struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + extra
    if ctype == 3:
        body += chunk(b"PLTE", bytes(3 * 4))
    return (
        b"\x89PNG\r\n\x1a\n"
        + body
        + chunk(b"IDAT", zlib.compress(row * (h if rows is None else rows)))
        + chunk(b"IEND", b"")
    )


def odd_png(rng: np.random.Generator) -> bytes:
    k = int(rng.integers(0, 8))
    if k == 0:
        return raw_png(H, W, 16, 2)
    if k == 1:
        actl = struct.pack(">I", 8) + b"acTL" + struct.pack(">II", 2, 0) + b"\x00" * 4
        return raw_png(H, W, 8, 2, extra=actl)
    if k == 2:
        return raw_png(H, W, 8, int(rng.choice([0, 3, 4, 6])))
    if k == 3:
        return raw_png(100_000, 100_000, 8, 2, rows=1)  # declares 10^10 pixels
    if k == 4:
        return raw_png(W, H, 8, 2)  # transposed
    if k == 5:
        return raw_png(H, W, 8, 2)  # a valid one written by hand
    if k == 6:
        return b"GIF89a" + bytes(40)
    return mutate_bytes(rng, raw_png(H, W, 8, 2))


def build_zip(entries: list[tuple[Any, bytes]], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    import warnings

    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are one of the mutations
        with zipfile.ZipFile(buf, "w", compression) as zf:
            for name, data in entries:
                zf.writestr(name, data)
    return buf.getvalue()


def mutated_zip(rng: np.random.Generator, entries: list[tuple[str, bytes]]) -> bytes:
    entries = list(entries)
    k = int(rng.integers(0, 10))
    i = int(rng.integers(0, len(entries)))
    name, data = entries[i]
    if k == 0:
        return mutate_bytes(rng, build_zip(entries))
    if k == 1:
        entries[i] = (name, mutate_bytes(rng, data))
    elif k == 2:
        new = [
            "../" + name, "/" + name, name + "\n", name.replace("0", "٠"), name.upper(),
            name.replace("/", "\\"), name + "/", "renders//" + name[8:], "x" * 300,
            name.replace(".png", ".PNG"), "renders/capture04/099999.png", name + "\x00",
        ][int(rng.integers(0, 12))]  # fmt: skip
        entries[i] = (new, data)
    elif k == 3:
        del entries[i]
    elif k == 4:
        entries.append(entries[i])
    elif k == 5:
        info = zipfile.ZipInfo(name)
        choice = int(rng.integers(0, 4))
        if choice == 0:
            info.external_attr = 0o120777 << 16
            info.create_system = 3
        elif choice == 1:
            info.flag_bits |= 0x1
        info.compress_type = [zipfile.ZIP_STORED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA,
                              zipfile.ZIP_DEFLATED][choice]  # fmt: skip
        entries[i] = (info, data)
    elif k == 6:
        man = mutate_json(rng, MANIFEST)
        entries[0] = ("manifest.json", json_text(rng, man))
    elif k == 7 and name.endswith(".png"):
        entries[i] = (name, odd_png(rng))
    elif k == 8:
        entries[i] = (name, bytes(int(rng.choice([1, 10, 70_000]))))  # zeros: compress well
    else:
        return mutate_bytes(rng, build_zip(entries, zipfile.ZIP_STORED))
    try:
        return build_zip(entries)
    except (ValueError, UnicodeError, zipfile.BadZipFile):  # zipfile refuses some names itself
        return mutate_bytes(rng, build_zip(list(genuine_entries(rng))))


def reference_valid_zip(path: Path, spec) -> str | None:  # noqa: ANN001
    """Slow independent check of an accepted archive; None if valid, else what is wrong."""
    from hwp_leaderboard.manifest import parse_manifest
    from PIL import Image

    want = {
        f"renders/{c}/{i:05d}.png": hw for c, idx in spec.frames.items() for i, hw in idx.items()
    }
    with zipfile.ZipFile(path) as zf:
        names = [i.filename for i in zf.infolist()]
        if len(names) != len(set(names)):
            return "duplicate names"
        if zf.testzip() is not None:
            return "CRC error"
        colour = {n for n in names if n in want}
        if colour != set(want):
            return "renders differ from the split"
        for n in names:
            if n == "manifest.json":
                raw = json.loads(zf.read(n))
                parse_manifest(raw)
                ft = raw.get("fit_time_s")
                if ft is not None and (isinstance(ft, bool) or not isinstance(ft, (int, float))):
                    return "fit_time_s is not a number"
                continue
            alpha = n.endswith(".alpha.png")
            base = n.replace(".alpha.png", ".png")
            if base not in want:
                return f"unexpected entry {n!r}"
            data = zf.read(n)
            depth, ctype = data[24], data[25]
            if depth != 8 or ctype != (0 if alpha else 2) or b"acTL" in data[: data.find(b"IDAT")]:
                return f"{n}: not an 8-bit single-frame {'L' if alpha else 'RGB'} PNG"
            with Image.open(io.BytesIO(data)) as im:
                im.load()
                if im.mode != ("L" if alpha else "RGB") or im.size[::-1] != tuple(want[base]):
                    return f"{n}: mode {im.mode} size {im.size}"
    return None


def fuzz_zips(n: int, rng: np.random.Generator, tally: Tally, workdir: Path) -> list[bytes]:
    from hwp_leaderboard.archive import check_submission
    from hwp_leaderboard.errors import SubmissionError

    gt = ground_truth()
    spec = {"inter": gt.spec("inter")}
    entries = genuine_entries(rng)
    genuine = workdir / "genuine.zip"
    genuine.write_bytes(build_zip(entries))
    check_submission(genuine, spec=spec)  # the starting point is valid
    blobs = []
    for case in range(n):
        blob = mutated_zip(rng, entries)
        blobs.append(blob)
        path = workdir / f"z{case}.zip"
        path.write_bytes(blob)
        try:
            check_submission(path, spec=spec)
        except SubmissionError as exc:
            if exc.code not in SUBMISSION_CODES:
                tally.violate("zip", str(case), f"unknown code {exc.code}")
            tally.add("zip", exc.code)
            continue
        except Exception as exc:  # noqa: BLE001 - the point of the fuzz pass
            tally.violate("zip", str(case), _where(exc))
            tally.add("zip", "CRASH")
            continue
        tally.add("zip", "accepted")
        why = reference_valid_zip(path, spec["inter"])
        if why:
            tally.violate("zip", str(case), f"accepted but {why}")
    return blobs


def fuzz_uploads(blobs: list[bytes], tally: Tally, workdir: Path) -> None:
    from fastapi.testclient import TestClient
    from hwp_leaderboard.database import Store
    from hwp_leaderboard.limits import Limits
    from hwp_leaderboard.server import Settings, create_app

    from hwp_bench.metrics.conventions import DEFAULT_PROTOCOL

    settings = Settings(
        storage=workdir / "server",
        quota_per_day=10**9,
        workers=0,
        allowed_protocols=(DEFAULT_PROTOCOL,),  # what a manifest without "protocol" names
        limits=Limits(max_upload_bytes=256 * 1024),
    )
    app = create_app(settings, ground_truth())
    store = Store(app.state.storage.default_database_url)
    store.create_team("fuzz")
    auth = {"Authorization": f"Bearer {store.create_token('fuzz')}"}
    sent = 0
    with TestClient(app, raise_server_exceptions=False) as client:
        for case, blob in enumerate(blobs):
            r = client.post("/api/submissions", content=blob, headers=auth)
            sent += 1
            if r.status_code == 202:
                tally.add("upload", "accepted")
            elif r.status_code in (413, 422) and r.json().get("code") in SUBMISSION_CODES:
                tally.add("upload", r.json()["code"])
            else:
                tally.add("upload", f"HTTP {r.status_code}")
                tally.violate("upload", str(case), f"HTTP {r.status_code}: {r.text[:200]}")
        listed = client.get("/api/submissions", headers=auth).json()
    if listed["quota"]["used"] != sent or len(listed["submissions"]) != sent:
        tally.violate("upload", "all", f"{sent} sent, {len(listed['submissions'])} recorded")


# -- manifests ------------------------------------------------------------------------------------
def _visible(s: str, newlines: bool) -> bool:
    for ch in s:
        if newlines and ch in "\n\t":
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cs", "Zl", "Zp") or (cat == "Cf" and ch not in "\u200c\u200d"):
            return False
    return True


def reference_valid_manifest(raw: Any, m) -> str | None:  # noqa: ANN001
    if not isinstance(raw, dict):
        return "not an object"
    allowed = {"method", "authors", "split", "protocol", "paper_url", "code_url", "dataset",
               "hardware", "fit_time_s", "method_version", "description", "contact"}  # fmt: skip
    if set(raw) - allowed:
        return f"unknown keys {set(raw) - allowed}"
    ft = raw.get("fit_time_s")
    if ft is not None and (
        isinstance(ft, bool) or not isinstance(ft, (int, float)) or not 0 <= ft <= 1e9
    ):
        return f"fit_time_s {ft!r}"
    texts = [m.method, *m.authors, m.hardware or "", m.method_version or "", m.contact or ""]
    texts += [m.paper_url or "", m.code_url or ""]
    if m.dataset is not None:
        texts += [m.dataset.id, m.dataset.revision or ""]
    if not all(isinstance(t, str) and _visible(t, False) for t in texts):
        return "invisible or control characters"
    if not _visible(m.description or "", True):
        return "invisible characters in the description"
    if m.split not in ("single", "inter"):
        return f"split {m.split!r}"
    for url in (m.paper_url, m.code_url):
        if url and not url.lower().startswith(("http://", "https://")):
            return f"link {url!r}"
    if not raw.get("authors") or not all(isinstance(a, str) for a in raw["authors"]):
        return "authors"
    return None


def fuzz_manifests(n: int, rng: np.random.Generator, tally: Tally) -> None:
    from hwp_leaderboard.errors import SubmissionError
    from hwp_leaderboard.manifest import parse_manifest

    base = {**MANIFEST, "paper_url": "https://example.org/p", "description": "two\nlines",
            "dataset": {"id": "fuzz", "revision": "1"}}  # fmt: skip
    for case in range(n):
        obj = base
        for _ in range(int(rng.integers(1, 4))):
            obj = mutate_json(rng, obj)
        text = json_text(rng, obj)
        try:
            m = parse_manifest(text)
        except SubmissionError as exc:
            tally.add("manifest", exc.code)
            if exc.code != "bad-manifest":
                tally.violate("manifest", str(case), f"code {exc.code}")
            continue
        except Exception as exc:  # noqa: BLE001
            tally.add("manifest", "CRASH")
            tally.violate("manifest", str(case), _where(exc))
            continue
        tally.add("manifest", "accepted")
        why = reference_valid_manifest(json.loads(text), m)
        if why:
            tally.violate("manifest", str(case), f"accepted but {why}: {text[:120]!r}")


# -- result files ---------------------------------------------------------------------------------
def genuine_result() -> dict:
    from hwp_bench.results import build_result

    frames = {i: {"psnr": 20.0 + i / 7, "ssim": 0.9 - i / 100, "lpips": 0.1} for i in range(6)}
    return build_result(
        dataset={"id": "fuzz", "revision": "1", "config": "capture04", "capture": "capture04"},
        method={"id": "m", "version": "0", "preset": "quick", "config": {"lr": 0.1}},
        seed=0,
        protocol="hwp-v1",
        frames=frames,
        frame_tags={1: ["blur"], 2: ["blur", "hoi"]},
        predictions_sha256="p" * 64,
        ground_truth_sha256="g" * 64,
        timings={"fit_s": 3.5},
        extra={"diagnostics": {"omega": {i: 0.1 * i for i in range(12)}}},
    )


def fuzz_results(n: int, rng: np.random.Generator, tally: Tally) -> None:
    from hwp_bench.io.canonical import canonical_json
    from hwp_bench.results import ResultError, verify_result
    from hwp_bench.results.schema import loads_result

    genuine = json.loads(json.dumps(genuine_result()))
    assert verify_result(genuine) == []

    def content(d: dict) -> str:
        return canonical_json({k: v for k, v in d.items() if k != "signature"})

    want = content(genuine)
    for case in range(n):
        obj = genuine
        if rng.integers(0, 10) == 0:  # the genuine content, written another way: must pass
            keys = list(obj)
            rng.shuffle(keys)
            text = json.dumps({k: obj[k] for k in keys}, indent=int(rng.integers(0, 4))).encode()
        else:
            for _ in range(int(rng.integers(1, 3))):
                obj = mutate_json(rng, obj)
            text = json_text(rng, obj)
        try:
            res = loads_result(text, f"case{case}")
            problems = verify_result(res)
        except ResultError as exc:
            tally.add("result", "refused: " + _result_reason(str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001
            tally.add("result", "CRASH")
            tally.violate("result", str(case), _where(exc))
            continue
        if problems:
            tally.add("result", "refused: " + _result_reason(problems[0]))
            continue
        tally.add("result", "accepted")
        if content(res) != want:
            tally.violate("result", str(case), "accepted with content that differs")


def _result_reason(msg: str) -> str:
    for key in ("not valid JSON", "integrity", "mean", "must", "missing", "incomplete",
                "not an hwp-bench", "schema", "cannot recompute", "config_hash", "protocol"):  # fmt: skip
        if key in msg:
            return key
    return "other"


# -- pickles --------------------------------------------------------------------------------------
def genuine_pickles() -> list[bytes]:
    import pickle

    values = {
        "f32": np.arange(6, dtype=np.float32).reshape(2, 3),
        "struct": np.zeros(2, dtype=[("a", "f4"), ("b", "i8", (2,))]),
        "scalar": np.float64(2.5),
        "u": np.array(["ab"]),
        "set": {1, 2},
        "nested": [{"a": (1, 2.5, None, b"xy")}],
    }
    return [pickle.dumps(values, protocol=p) for p in range(6)]


_OPCODES = [
    b"cbuiltins\nset\n", b"cbuiltins\nrange\n", b"cnumpy\ndtype\n", b"cnumpy\nndarray\n",
    b"cnumpy.core.multiarray\n_reconstruct\n", b"cos\nsystem\n", b"cbuiltins\neval\n",
    b"R", b"b", b"\x81", b"(", b"t", b"\x85", b"\x86", b"\x87", b"}", b"]", b"N", b"\x88",
    b"K\x07", b"J\xff\xff\xff\x7f", b"\x8a\x05\x00\xca\x9a\x3b\x00", b"X\x01\x00\x00\x00O",
    b"X\x02\x00\x00\x00V8", b"C\x08" + bytes(8), b"s", b"a", b"e", b"u", b"q\x00", b"h\x00",
    b"h\x09", b"0", b"2", b"P1\n", b"Q", b".", b"\x94", b"\x95" + struct.pack("<Q", 2**40),
]  # fmt: skip


def mutated_pickle(rng: np.random.Generator, bases: list[bytes]) -> bytes:
    k = int(rng.integers(0, 4))
    if k == 0:
        return mutate_bytes(rng, bases[int(rng.integers(0, len(bases)))])
    if k == 1:  # splice opcodes into a genuine pickle
        b = bytearray(bases[int(rng.integers(0, len(bases)))])
        for _ in range(int(rng.integers(1, 5))):
            i = int(rng.integers(0, len(b)))
            b[i:i] = _OPCODES[int(rng.integers(0, len(_OPCODES)))]
        return bytes(b)
    # a random opcode program
    ops = [_OPCODES[int(rng.integers(0, len(_OPCODES)))] for _ in range(int(rng.integers(1, 25)))]
    return b"\x80\x02" + b"".join(ops) + b"."


def _pickle_value_ok(obj: Any, limit: int) -> str | None:
    from hwp_bench.io import safe_pickle as sp

    callables = {v for v in sp._SAFE_BUILTINS.values() if v is not None}  # noqa: SLF001
    callables |= {sp._codecs_encode, sp._dtype, sp._reconstruct, sp._scalar, sp._frombuffer}  # noqa: SLF001
    callables.add(sp._NdarrayToken)  # noqa: SLF001
    plain = (type(None), bool, int, float, complex, str, bytes, bytearray, slice, range, np.dtype)
    seen: set[int] = set()
    stack = [obj]
    while stack:
        o = stack.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        if isinstance(o, np.ndarray):
            if o.dtype.hasobject or o.nbytes > limit:
                return f"array {o.dtype} of {o.nbytes} bytes"
        elif isinstance(o, np.dtype):
            if o.hasobject:
                return "object dtype"
        elif isinstance(o, np.generic):
            if isinstance(o, np.object_):
                return "object scalar"
        elif isinstance(o, (list, tuple, set, frozenset)):
            stack.extend(o)
        elif isinstance(o, dict):
            stack.extend(o.keys())
            stack.extend(o.values())
        elif isinstance(o, plain) or any(o is c for c in callables):
            continue
        else:
            return f"object of type {type(o).__name__}"
    return None


def fuzz_pickles(n: int, rng: np.random.Generator, tally: Tally) -> None:
    from hwp_bench.io import UnsafePickleError, safe_load_pickle
    from hwp_bench.io.safe_pickle import MalformedPickleError

    bases = genuine_pickles()
    for b in bases:
        safe_load_pickle(b)
    for case in range(n):
        blob = mutated_pickle(rng, bases)
        t0 = time.perf_counter()
        try:
            value = safe_load_pickle(blob, max_bytes=1 << 20)
        except MalformedPickleError:
            tally.add("pickle", "malformed")
            continue
        except UnsafePickleError:
            tally.add("pickle", "unsafe")
            continue
        except Exception as exc:  # noqa: BLE001
            tally.add("pickle", "CRASH")
            tally.violate("pickle", str(case), _where(exc))
            continue
        finally:
            if time.perf_counter() - t0 > 2.0:
                tally.violate("pickle", str(case), "took over 2 s")
        tally.add("pickle", "accepted")
        why = _pickle_value_ok(value, max(len(blob), 1024))
        if why:
            tally.violate("pickle", str(case), f"accepted but holds {why}")


# -- driver ---------------------------------------------------------------------------------------
def run(scale: float = 1.0, seed: int = 0, workdir: Path | None = None) -> Tally:
    """The whole pass; ``scale`` multiplies :data:`BASE_CASES`."""
    tally = Tally()
    counts = {k: max(1, int(v * scale)) for k, v in BASE_CASES.items()}
    with tempfile.TemporaryDirectory(prefix="hwp-fuzz-") as tmp:
        work = Path(workdir or tmp)
        steps: list[tuple[str, Callable[[], Any]]] = []
        blobs: list[bytes] = []

        def zips() -> None:
            blobs.extend(fuzz_zips(counts["zip"], np.random.default_rng([seed, 1]), tally, work))

        steps = [
            ("zip", zips),
            ("upload", lambda: fuzz_uploads(blobs[: counts["upload"]], tally, work)),
            ("manifest", lambda: fuzz_manifests(counts["manifest"], np.random.default_rng([seed, 2]), tally)),
            ("result", lambda: fuzz_results(counts["result"], np.random.default_rng([seed, 3]), tally)),
            ("pickle", lambda: fuzz_pickles(counts["pickle"], np.random.default_rng([seed, 4]), tally)),
        ]  # fmt: skip
        for kind, fn in steps:
            t0 = time.perf_counter()
            fn()
            tally.seconds[kind] = time.perf_counter() - t0
    return tally


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=10.0, help="x the fast suite's case counts")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    import logging

    logging.disable(logging.CRITICAL)  # the server logs each rejection; counts are enough here
    t0 = time.perf_counter()
    tally = run(args.scale, args.seed)
    print(f"fuzz pass, seed {args.seed}, scale {args.scale:g}: {tally.cases()} cases in "
          f"{time.perf_counter() - t0:.0f} s")  # fmt: skip
    for line in tally.lines():
        print(line)
    for v in tally.violations[:50]:
        print("VIOLATION", v)
    return 1 if tally.violations else 0


if __name__ == "__main__":
    sys.exit(main())
