"""The integrity hash is over exactly what is written (issue 17, item 2): every built-in
method's result file verifies after a real run; keyed signatures (item 8)."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
from typer.testing import CliRunner

from hwp_bench.cli import app
from hwp_bench.results import build_result, read_result, verify_result, write_result
from hwp_bench.results.schema import canonical_sha256
from hwp_bench.results.signature import attach_signature, check_signature, key_id, parse_key


def _result(extra=None) -> dict:
    frames = {i: {"psnr": 20.0 + i, "ssim": 0.9, "lpips": 0.1} for i in range(12)}
    return build_result(
        dataset={"id": "tiny", "revision": "t", "config": "capture04", "capture": "capture04"},
        method={"id": "m", "version": "0", "preset": "quick", "config": {"steps": (1, 2)}},
        seed=0,
        protocol="hwp-v1",
        frames=frames,
        predictions_sha256="p" * 64,
        ground_truth_sha256="g" * 64,
        extra=extra,
    )


def test_integer_keys_are_hashed_as_the_strings_a_reader_sees(tmp_path):
    import numpy as np

    # WildGHand's omega: integer frame keys whose string order differs (10 < 2 as strings)
    omega = {i: float(np.float32(0.01 * i)) for i in range(12)}
    res = _result({"diagnostics": {"omega": omega, "scale": np.float32(0.5)}})
    assert list(res["extra"]["diagnostics"]["omega"])[:3] == ["0", "1", "2"]
    path = write_result(tmp_path / "r.json", res)
    back = read_result(path)
    assert verify_result(back) == []
    assert back["extra"]["diagnostics"]["scale"] == 0.5  # numpy scalars become plain numbers
    assert back["method"]["config"] == {"steps": [1, 2]}  # tuples become lists before hashing


def test_files_written_before_the_fix_still_verify(tmp_path):
    """A genuine file hashed with integer omega keys (the old way) keeps verifying."""
    res = _result({"diagnostics": {"omega": {str(i): 0.01 * i for i in range(12)}}})
    legacy = {k: v for k, v in res.items() if k != "integrity"}
    legacy_hashed = json.loads(json.dumps(legacy))
    legacy_hashed["extra"]["diagnostics"]["omega"] = {i: 0.01 * i for i in range(12)}
    text = json.dumps(legacy_hashed, sort_keys=True, separators=(",", ":"))
    res["integrity"] = {"sha256": hashlib.sha256(text.encode()).hexdigest()}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(res, indent=2, sort_keys=True))
    assert verify_result(read_result(path)) == []
    res["frames"]["3"]["psnr"] += 1.0  # ... but an edit is still caught
    res["means"]["psnr"] += 1.0 / 12
    path.write_text(json.dumps(res))
    assert any("integrity" in p for p in verify_result(read_result(path)))


# -- every built-in method, after a real (tiny) run ------------------------------------------
_SMALL_NET = [
    "perceptual=none", "identity_height=16", "identity_width=32", "tex_channels=8",
    "hidden=32", "feat_dim=16",
]  # fmt: skip
METHODS = {
    "mean-color": [],  # no training loop
    "wildghand": ["iterations=2"],
    "handy": ["iterations=2", "texture_size=32", "batch_size=2"],
    "intergaussianhand": ["iterations=2", *_SMALL_NET],
    "robust-trimmed": ["iterations=2", *_SMALL_NET],
    "appearance-embedding": ["iterations=2", *_SMALL_NET],
}


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_builtin_method_result_verifies_after_a_real_run(method, tiny_synth, tmp_path):
    sets = [a for o in METHODS[method] for a in ("--set", o)]
    args = ["run", "--method", method, "--split", "capture04", "--dataset", str(tiny_synth),
            "--executor", "inline", "--out", str(tmp_path), "--metrics", "psnr,ssim",
            "--no-progress", *sets]  # fmt: skip
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    (path,) = sorted(tmp_path.glob("*/results/*.json"))
    result = read_result(path)
    assert result["method"]["id"] == method
    assert verify_result(result) == []
    # the recorded hash is the hash of what was written (not a legacy form accepted on read)
    assert result["integrity"]["sha256"] == canonical_sha256(result)
    if method == "wildghand":  # the case that failed: integer-keyed omega in the diagnostics
        assert len(result["extra"]["diagnostics"]["omega"]) >= 10
    out = CliRunner().invoke(app, ["results", "verify", str(path)])
    assert out.exit_code == 0 and out.stdout.startswith("OK"), out.output


def test_mean_color_on_the_runner_dataset_verifies(tiny_dataset, tmp_path):
    res = CliRunner().invoke(
        app,
        ["run", "--method", "mean-color", "--split", "all", "--dataset", str(tiny_dataset),
         "--executor", "inline", "--out", str(tmp_path), "--no-progress",
         "--metrics", "psnr,ssim"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    files = sorted(tmp_path.glob("*/results/*.json"))
    assert len(files) == 2
    assert all(verify_result(read_result(f)) == [] for f in files)


# -- keyed signatures ------------------------------------------------------------------------
KEY = bytes(range(32))


def test_signature_detects_a_recomputed_hash_that_integrity_cannot(tmp_path):
    res = attach_signature(_result(), KEY)
    assert check_signature(res, KEY) == []
    forged = json.loads(json.dumps(res))
    forged["frames"]["0"]["psnr"] += 5.0
    forged["means"]["psnr"] += 5.0 / 12
    forged["integrity"] = {"sha256": canonical_sha256(forged)}  # the forger recomputes it
    assert verify_result(forged) == []  # the unkeyed hash cannot tell
    assert check_signature(forged, KEY) == [
        "signature mismatch: the content changed after it was signed"
    ]
    other = bytes(32)
    assert check_signature(res, other)[0].startswith("signed with another key")
    assert check_signature(_result(), KEY) == ["not signed (no signature field)"]
    assert check_signature({**res, "signature": "x"}, KEY)[0].startswith("signature must be")


def test_keygen_sign_and_verify_with_key_from_the_command_line(tmp_path):
    key = tmp_path / "lb.key"
    runner = CliRunner()
    out = runner.invoke(app, ["results", "keygen", str(key)])
    assert out.exit_code == 0, out.output
    assert os.stat(key).st_mode & 0o077 == 0  # owner only
    assert key_id(parse_key(key.read_text())) in out.stdout
    assert runner.invoke(app, ["results", "keygen", str(key)]).exit_code == 2  # never overwritten
    path = write_result(tmp_path / "r.json", _result())
    edited = write_result(tmp_path / "e.json", _result())
    assert (
        runner.invoke(app, ["results", "sign", str(path), str(edited), "--key", str(key)]).exit_code
        == 0
    )
    assert "signature" in json.loads(path.read_text())
    ok = runner.invoke(app, ["results", "verify", "--key", str(key), str(path)])
    assert ok.exit_code == 0 and "signature ok" in ok.stdout, ok.output
    d = json.loads(edited.read_text())
    d["frames"]["0"]["psnr"] += 5.0
    d["means"]["psnr"] += 5.0 / 12
    d["integrity"] = {"sha256": canonical_sha256(d)}
    edited.write_text(json.dumps(d))
    assert runner.invoke(app, ["results", "verify", str(edited)]).exit_code == 0  # unkeyed: ok
    bad = runner.invoke(app, ["results", "verify", "--key", str(key), str(edited), str(path)])
    assert bad.exit_code == 1 and "signature mismatch" in bad.stderr
    assert f"OK   {path}" in bad.stdout
    short = tmp_path / "short.key"
    short.write_text("abcd")
    res = runner.invoke(app, ["results", "verify", "--key", str(short), str(path)])
    assert res.exit_code == 2 and "at least 32" in res.stderr
    # a file that fails verification is never signed
    broken = write_result(tmp_path / "b.json", _result())
    d = json.loads(broken.read_text())
    d["means"]["psnr"] = 99.0
    broken.write_text(json.dumps(d))
    res = runner.invoke(app, ["results", "sign", str(broken), "--key", str(key)])
    assert res.exit_code == 1 and "not signed" in res.stderr
    assert "signature" not in json.loads(broken.read_text())
