"""The public web pages: one ranking table per split (and protocol), one page per submission.

Pages are plain HTML strings with a few lines of inline JavaScript for sorting, so the server
returns them directly and ``hwp-bench leaderboard build OUT`` writes the same files as a static
site. Every link is relative (``index.html``, ``submissions/<id>.html``, ``samples/<id>/...``),
which is what makes the two interchangeable. Every string from a manifest is escaped, and links
were restricted to http(s) when the manifest was validated.

Only ``done`` submissions appear; what is shown is aggregate scores and the submission's own
sample renders, never ground truth.
"""

from __future__ import annotations

import datetime as _dt
import html
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hwp_bench.io import atomic_write_json, atomic_write_text
from hwp_bench.metrics.conventions import (
    DEFAULT_PROTOCOL,
    DEFAULT_TRACK,
    HIGHER_IS_BETTER,
    LEGACY_TRACK,
    METRIC_ORDER,
)

SPLIT_TITLES = {"single": "Single hand", "inter": "Interacting hands"}
METRIC_LABEL = {"psnr": "PSNR", "ssim": "SSIM", "lpips": "LPIPS"}
METRIC_FMT = {"psnr": "{:.2f}", "ssim": "{:.3f}", "lpips": "{:.3f}"}

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1320px;
padding:0 1rem;color:#1d1d1f;background:#fff}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2rem;font-size:1.25rem}
.sub{color:#666;font-size:.9rem}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin-top:.6rem}
th,td{padding:.35rem .55rem;border-bottom:1px solid #e3e3e3;text-align:right;white-space:nowrap}
th{background:#f5f5f7;position:sticky;top:0}
th.sortable{cursor:pointer;user-select:none}th.sortable:hover{background:#e8e8ee}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
td.text,th.text{text-align:left}tr:hover td{background:#fafafe}
.best{font-weight:700}.samples{display:flex;flex-wrap:wrap;gap:1rem}
.samples figure{margin:0}.samples img{width:192px;height:auto;image-rendering:pixelated;
border:1px solid #ddd;background:#000}
dl{display:grid;grid-template-columns:max-content auto;gap:.25rem 1rem}dt{color:#666}
a{color:#0a58ca}
"""

_JS = """
document.querySelectorAll('table.ranking').forEach(function(table){
  table.querySelectorAll('th.sortable').forEach(function(th, _){
    th.addEventListener('click', function(){
      var col = Array.prototype.indexOf.call(th.parentNode.children, th);
      var asc = th.getAttribute('aria-sort') !== 'ascending';
      table.querySelectorAll('th').forEach(function(o){ o.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function(a, b){
        var x = a.cells[col].getAttribute('data-value'), y = b.cells[col].getAttribute('data-value');
        var nx = parseFloat(x), ny = parseFloat(y), r;
        if (x === '' && y === '') r = 0; else if (x === '') return 1; else if (y === '') return -1;
        else if (!isNaN(nx) && !isNaN(ny)) r = nx - ny; else r = x.localeCompare(y);
        return asc ? r : -r;
      });
      rows.forEach(function(r){ body.appendChild(r); });
    });
  });
});
"""


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _page(title: str, body: str, *, root: str = "") -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{_e(title)}</title>'
        f"<style>{_CSS}</style></head><body>{body}"
        f'<p class="sub" style="margin-top:3rem"><a href="{root}index.html">leaderboard</a> · '
        f'<a href="{root}leaderboard.json">JSON</a> · scores against hidden ground truth; '
        "only aggregates are published</p>"
        f"<script>{_JS}</script></body></html>\n"
    )


def _fmt(metric: str, value: float | None) -> str:
    if value is None:
        return "–"
    base = metric.split("_")[0]
    return METRIC_FMT.get(base, "{:.3f}").format(value)


def _date(ts: float | None) -> str:
    if not ts:
        return ""
    return _dt.datetime.fromtimestamp(ts, tz=_dt.UTC).strftime("%Y-%m-%d")


# Column labels of the perturbation tags (paper Table V), in the paper's order.
TAG_LABELS = {
    "hoi": "HOI",
    "complex_pose": "Complex poses",
    "illumination": "Illumination",
    "blur": "Blur",
}


def _tag_label(tag: str) -> str:
    return TAG_LABELS.get(tag, tag.replace("_", " ").replace("-", " ").capitalize())


def _tag_order(tags) -> list[str]:  # noqa: ANN001
    known = [t for t in TAG_LABELS if t in tags]
    return known + sorted(t for t in tags if t not in TAG_LABELS)


def _link(url: str | None, text: str) -> str:
    if not url:
        return ""
    return f'<a href="{_e(url)}" rel="nofollow noopener">{_e(text)}</a>'


def entry_track(row: dict) -> str:
    """The test-pose track a submission was rendered from (entries from before tracks were
    rendered from the dataset's own parameters: ``estimated``)."""
    for source in (row.get("scores") or {}, row.get("manifest") or {}):
        if isinstance(source, dict) and source.get("test_poses"):
            return str(source["test_poses"])
    return LEGACY_TRACK


def ranking_groups(rows: Sequence[dict]) -> list[tuple[str, str, str, list[dict]]]:
    """Done submissions grouped by (split, protocol, test-pose track), each ranked by PSNR
    (best first); the default protocol and track come first."""
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for r in rows:
        if r.get("status") != "done" or not r.get("scores"):
            continue
        groups.setdefault((r["split"], r["protocol"], entry_track(r)), []).append(r)
    order = {"single": 0, "inter": 1}
    out = []
    for (split, protocol, track), items in sorted(
        groups.items(),
        key=lambda kv: (
            order.get(kv[0][0], 9),
            kv[0][0],
            kv[0][1] != DEFAULT_PROTOCOL,
            kv[0][1],
            kv[0][2] != DEFAULT_TRACK,
            kv[0][2],
        ),
    ):
        items.sort(key=lambda r: (-r["scores"]["metrics"].get("psnr", float("-inf")), r["created"]))
        out.append((split, protocol, track, items))
    return out


def render_index(rows: Sequence[dict], *, title: str = "hwp-bench leaderboard") -> str:
    groups = ranking_groups(rows)
    parts = [
        f"<h1>{_e(title)}</h1>",
        '<p class="sub">Renders of the held-out clean test clips, scored on the server against '
        "ground truth that is never published. Click a column to sort; click a method for "
        "per-capture scores and sample renders.</p>",
    ]
    if not groups:
        parts.append("<p>No scored submissions yet.</p>")
    for split, protocol, track, items in groups:
        tags = _tag_order({t for r in items for t in r["scores"].get("tags", {})})
        best = {}
        for m in METRIC_ORDER:
            vals = [r["scores"]["metrics"][m] for r in items if m in r["scores"]["metrics"]]
            if vals:
                best[m] = max(vals) if HIGHER_IS_BETTER[m] else min(vals)
        table_id = f"ranking-{split}-{protocol}-{track}"
        parts.append(
            f'<h2 id="{_e(split)}">{_e(SPLIT_TITLES.get(split, split))} '
            f'<span class="sub">({_e(split)} split, protocol {_e(protocol)}, '
            f"test poses {_e(track)})</span></h2>"
        )
        head = [
            '<th class="sortable" data-key="rank">#</th>',
            '<th class="sortable text" data-key="method">Method</th>',
            '<th class="sortable text" data-key="team">Team</th>',
        ]
        for m in METRIC_ORDER:
            arrow = "↑" if HIGHER_IS_BETTER[m] else "↓"
            head.append(f'<th class="sortable" data-key="{m}">{METRIC_LABEL[m]} {arrow}</th>')
        for t in tags:
            head.append(
                f'<th class="sortable" data-key="tag-{_e(t)}" title="PSNR over captures with '
                f'this perturbation">{_e(_tag_label(t))}</th>'
            )
        head += [
            '<th class="sortable" data-key="fit">Fit (h)</th>',
            '<th class="text">Paper</th><th class="text">Code</th>',
            '<th class="sortable" data-key="date">Date</th>',
        ]
        body = []
        for rank, r in enumerate(items, 1):
            man = r.get("manifest") or {}
            s = r["scores"]
            cells = [
                f'<td data-value="{rank}">{rank}</td>',
                f'<td class="text" data-value="{_e(r["method"])}"><a class="method" '
                f'href="submissions/{_e(r["id"])}.html">{_e(r["method"])}</a></td>',
                f'<td class="text" data-value="{_e(r["team"])}">{_e(r["team"])}</td>',
            ]
            for m in METRIC_ORDER:
                v = s["metrics"].get(m)
                cls = ' class="best"' if v is not None and v == best.get(m) else ""
                cells.append(f'<td{cls} data-value="{"" if v is None else v}">{_fmt(m, v)}</td>')
            for t in tags:
                v = s.get("tags", {}).get(t, {}).get("psnr")
                cells.append(f'<td data-value="{"" if v is None else v}">{_fmt("psnr", v)}</td>')
            fit = man.get("fit_time_s")
            cells.append(
                f'<td data-value="{"" if fit is None else fit}">'
                f"{'' if fit is None else f'{fit / 3600:.2f}'}</td>"
            )
            cells.append(f'<td class="text">{_link(man.get("paper_url"), "paper")}</td>')
            cells.append(f'<td class="text">{_link(man.get("code_url"), "code")}</td>')
            cells.append(f'<td data-value="{r["created"]}">{_date(r["created"])}</td>')
            body.append(f'<tr data-id="{_e(r["id"])}">' + "".join(cells) + "</tr>")
        parts.append(
            f'<table class="ranking" id="{_e(table_id)}"><thead><tr>{"".join(head)}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>"
        )
        if tags:
            parts.append(
                '<p class="sub">Metrics are means over the captures of the split (per-capture '
                "means of per-frame scores); perturbation columns are PSNR over the captures with "
                "that perturbation, as in the paper's Table V. Fit time: per capture, as reported.</p>"
            )
    return _page(title, "".join(parts))


def render_detail(
    row: dict, samples: Sequence[str], *, title: str = "hwp-bench leaderboard"
) -> str:
    man = row.get("manifest") or {}
    s = row["scores"]
    info = [
        ("Team", _e(row["team"])),
        ("Authors", _e(", ".join(man.get("authors", [])))),
        ("Split", _e(row["split"])),
        ("Protocol", _e(row["protocol"])),
        ("Test poses", _e(entry_track(row))),
        ("Submitted", _e(_date(row["created"]))),
        ("Frames scored", _e(s.get("num_frames", ""))),
    ]
    ds = man.get("dataset") or {}
    if ds:
        info.append(("Dataset", _e(f"{ds.get('id', '')} {ds.get('revision') or ''}".strip())))
    for key, label in (
        ("hardware", "Hardware"),
        ("method_version", "Version"),
        ("description", "Description"),
    ):
        if man.get(key):
            info.append((label, _e(man[key])))
    if man.get("fit_time_s") is not None:
        info.append(("Fit time", _e(f"{man['fit_time_s'] / 3600:.2f} h")))
    links = " · ".join(
        x for x in (_link(man.get("paper_url"), "paper"), _link(man.get("code_url"), "code")) if x
    )
    if links:
        info.append(("Links", links))
    parts = [
        f'<h1 id="method">{_e(row["method"])}</h1>',
        '<p class="sub"><a href="../index.html">← back to the ranking</a></p>',
        "<dl>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in info) + "</dl>",
        "<h2>Scores</h2>",
        '<table class="ranking" id="captures"><thead><tr><th class="sortable text">Capture</th>'
        + "".join(f'<th class="sortable">{METRIC_LABEL[m]}</th>' for m in METRIC_ORDER)
        + '<th class="sortable">Frames</th></tr></thead><tbody>',
    ]
    for cap, cs in sorted(s.get("captures", {}).items()):
        parts.append(
            f'<tr><td class="text" data-value="{_e(cap)}">{_e(cap)}</td>'
            + "".join(
                f'<td data-value="{cs.get(m, "")}">{_fmt(m, cs.get(m))}</td>' for m in METRIC_ORDER
            )
            + f'<td data-value="{cs.get("num_frames", "")}">{_e(cs.get("num_frames", ""))}</td></tr>'
        )
    parts.append(
        '<tr class="mean"><td class="text" data-value="~"><b>mean of captures</b></td>'
        + "".join(
            f'<td data-value="{s["metrics"].get(m, "")}"><b>{_fmt(m, s["metrics"].get(m))}</b></td>'
            for m in METRIC_ORDER
        )
        + f'<td data-value="{s.get("num_frames", "")}">{_e(s.get("num_frames", ""))}</td></tr>'
    )
    parts.append("</tbody></table>")
    if s.get("tags"):
        parts.append(
            '<h2>By perturbation</h2><table id="tags"><thead><tr><th class="text">Perturbation</th>'
            + "".join(f"<th>{METRIC_LABEL[m]}</th>" for m in METRIC_ORDER)
            + "<th>Captures</th></tr></thead><tbody>"
        )
        for tag in _tag_order(s["tags"]):
            ts = s["tags"][tag]
            parts.append(
                f'<tr><td class="text">{_e(_tag_label(tag))}</td>'
                + "".join(f"<td>{_fmt(m, ts.get(m))}</td>" for m in METRIC_ORDER)
                + f"<td>{_e(ts.get('num_captures', ''))}</td></tr>"
            )
        parts.append("</tbody></table>")
    if samples:
        parts.append('<h2>Sample renders</h2><div class="samples">')
        for name in samples:
            cap = name.rsplit(".", 1)[0]
            parts.append(
                f'<figure><img src="../samples/{_e(row["id"])}/{_e(name)}" alt="render of {_e(cap)}">'
                f"<figcaption>{_e(cap)}</figcaption></figure>"
            )
        parts.append("</div>")
    return _page(f"{row['method']} · {title}", "".join(parts), root="../")


def public_record(row: dict, *, signing_key: bytes | None = None) -> dict:
    """What the JSON API publishes about a done submission (no token, no archive path, no
    ``contact``: that is for the organisers only).

    With ``signing_key`` the record carries an HMAC-SHA256 ``signature`` over everything else
    (:mod:`hwp_bench.results.signature`), binding the scores to the submission id, team,
    manifest and the SHA-256 of the archive that was scored.
    """
    from hwp_leaderboard.manifest import PRIVATE_FIELDS

    man = {k: v for k, v in (row.get("manifest") or {}).items() if k not in PRIVATE_FIELDS}
    record = {
        "id": row["id"],
        "team": row["team"],
        "method": row["method"],
        "split": row["split"],
        "protocol": row["protocol"],
        "test_poses": entry_track(row),
        "created": row["created"],
        "manifest": man,
        "scores": row["scores"],
        "archive_sha256": row.get("sha256"),
    }
    if signing_key is not None:
        from hwp_bench.results.signature import attach_signature

        attach_signature(record, signing_key)
    return record


def build_site(
    store,  # noqa: ANN001
    storage,  # noqa: ANN001
    out: str | Path,
    *,
    title: str = "hwp-bench leaderboard",
    signing_key: bytes | None = None,
) -> Path:
    """Write the leaderboard as a static site (index, detail pages, samples, JSON; the JSON's
    records signed when ``signing_key`` is given)."""
    out = Path(out)
    rows = [r for r in store.list_submissions(status="done") if r.get("scores")]
    atomic_write_text(out / "index.html", render_index(rows, title=title))
    records = [public_record(r, signing_key=signing_key) for r in rows]
    atomic_write_json(out / "leaderboard.json", {"submissions": records})
    for r in rows:
        samples = storage.samples(r["id"])
        atomic_write_text(
            out / "submissions" / f"{r['id']}.html", render_detail(r, samples, title=title)
        )
        for name in samples:
            src = storage.sample_path(r["id"], name)
            if src is not None:
                dest = out / "samples" / r["id"] / name
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest)
    return out
