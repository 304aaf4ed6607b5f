"""A self-contained HTML report of where the holes are: diagram, barcode and a 3-D view.

One file, no network: the data (a subsample of the points, the listed features, the
landmarks their cycles use) is inlined as JSON and drawn by a small inlined script on
canvases; nothing is fetched from a CDN. Choosing a bar (in the barcode or the diagram)
draws its cycle and centre in the 3-D view, which the mouse rotates. The size grows with
``max_points`` (default 20,000 drawn points, ~0.6 MB), not with the cloud.
"""

import html
import json

import numpy as np

#: Points drawn in the 3-D view by default: enough to see the shape, small for any cloud.
DEFAULT_MAX_POINTS = 20_000
#: Features listed by default.
DEFAULT_TOP = 20
#: Decimals kept for coordinates relative to the cloud's size (1e-4 of its extent).
COORDINATE_DIGITS = 4


def write_report(result, path, points=None, *, features=None, top=DEFAULT_TOP,
                 max_points=DEFAULT_MAX_POINTS, title="Flood: where the holes are",
                 random_state=0):  # fmt: skip
    """Write an interactive, offline HTML report of a Flood complex's features.

    Parameters
    ----------
    result : flood.FloodResult
    path : str or path-like
        The ``.html`` file to write.
    points : array-like of shape (n_points, dim), optional
        The cloud (or any sample of it) to draw; a random subsample of ``max_points`` is
        drawn. Default: the landmarks.
    features : structured ndarray, optional
        As returned by :meth:`flood.FloodResult.features`; default ``result.features(top=top)``.
    top : int, default=20
    max_points : int, default=20,000
    title : str
    random_state : int or None
        Seeds the subsample.

    Returns
    -------
    size : int
        Bytes written.

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> from flood import flood_complex
    >>> from flood.datasets import make_torus
    >>> X = make_torus(2000, random_state=0)
    >>> res = flood_complex(X, 100, random_state=0, device="cpu")
    >>> path = os.path.join(tempfile.mkdtemp(), "report.html")
    >>> write_report(res, path, X, top=5) < 200_000
    True
    """
    if features is None:
        features = result.features(top=top)
    data = report_data(result, features, points, max_points, random_state)
    page = _PAGE.replace("__TITLE__", html.escape(title)).replace(
        "__DATA__", json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    )
    page = page.replace("__SCRIPT__", _SCRIPT)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(page)
    return len(page.encode("utf-8"))


def report_data(result, features, points, max_points, random_state):
    """What the page draws, as JSON-ready lists (coordinates in 3-D, padded or cut)."""
    L = np.asarray(result.landmarks, dtype=np.float64)
    P = L if points is None else np.asarray(points, dtype=np.float64)
    if len(P) > max_points:
        rng = np.random.default_rng(random_state)
        P = P[rng.choice(len(P), max_points, replace=False)]
    scale = float(np.ptp(L, axis=0).max()) or 1.0
    digits = COORDINATE_DIGITS - int(np.floor(np.log10(scale)))
    used = sorted({int(v) for row in features for v in np.ravel(row["cycle"])})
    index = {v: j for j, v in enumerate(used)}
    rows = []
    for row in features:
        cycle = (
            np.vectorize(index.get, otypes=[np.int64])(row["cycle"]) if row["cycle"].size else []
        )
        rows.append(
            {
                "dim": int(row["dimension"]),
                "birth": _num(row["birth"]),
                "death": _num(row["death"]),
                "radius": _num(row["radius"]),
                "centre": [_num(c, digits) for c in _xyz(row["centre"][None])[0]],
                "cycle": np.asarray(cycle, dtype=np.int64).tolist(),
            }
        )
    return {
        "points": np.round(_xyz(P), digits).ravel().tolist(),
        "vertices": np.round(_xyz(L[used]), digits).ravel().tolist() if used else [],
        "features": rows,
        "n_points": int(len(points) if points is not None else len(L)),
        "n_landmarks": int(len(L)),
    }


def _xyz(a):
    """Points as 3-D coordinates: 1-D and 2-D clouds padded with zeros, the first three of
    higher dimensions."""
    a = np.asarray(a, dtype=np.float64)
    out = np.zeros((len(a), 3))
    out[:, : min(3, a.shape[1])] = a[:, :3]
    return out


def _num(x, digits=6):
    x = float(x)
    return None if not np.isfinite(x) else round(x, max(digits, 6))


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<style>
body{font:14px system-ui,sans-serif;margin:12px;color:#222}
#grid{display:grid;grid-template-columns:360px 1fr;gap:12px}
canvas{border:1px solid #ccc;background:#fff}
#view{cursor:grab}
table{border-collapse:collapse;font-size:12px}
td,th{padding:2px 6px;border-bottom:1px solid #eee;text-align:right}
tr.sel{background:#ffe9a8}
tr{cursor:pointer}
</style></head><body>
<h2>__TITLE__</h2>
<p id="info"></p>
<div id="grid">
<div><canvas id="diagram" width="340" height="300"></canvas>
<canvas id="barcode" width="340" height="300"></canvas>
<table id="table"><thead><tr><th>#</th><th>H</th><th>birth</th><th>death</th>
<th>radius</th><th>centre</th></tr></thead><tbody></tbody></table></div>
<div><canvas id="view" width="760" height="640"></canvas>
<p>Drag to rotate, wheel to zoom; choose a bar, a point or a row to see its cycle.</p></div>
</div>
<script id="data" type="application/json">__DATA__</script>
<script>__SCRIPT__</script>
</body></html>
"""

_SCRIPT = r"""
(function(){
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const F = D.features, COL = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];
let sel = F.length ? 0 : -1, yaw = 0.6, pitch = 0.4, zoom = 1;
const fin = F.filter(f => f.death !== null);
const vmax = Math.max(1e-12, ...F.map(f => f.death === null ? f.birth : f.death));
document.getElementById("info").textContent = D.n_points.toLocaleString() + " points (" +
  (D.points.length / 3).toLocaleString() + " drawn), " + D.n_landmarks + " landmarks, " +
  F.length + " features listed.";
function pick(i){ sel = i; drawAll(); }
function diagram(){
  const c = document.getElementById("diagram"), g = c.getContext("2d"), m = 30;
  const s = v => m + (c.width - 2 * m) * (v === null ? 1.05 : v / vmax) / 1.05;
  g.clearRect(0, 0, c.width, c.height); g.strokeStyle = "#999";
  g.beginPath(); g.moveTo(s(0), c.height - s(0)); g.lineTo(s(vmax), c.height - s(vmax)); g.stroke();
  g.fillStyle = "#222"; g.fillText("birth", c.width / 2, c.height - 8);
  g.fillText("death", 4, 14);
  [1, 2].forEach((q, j) => { g.fillStyle = COL[q];
    g.fillText("H" + q, c.width - 60 + 28 * j, 14); });
  c._hits = F.map((f, i) => [s(f.birth), c.height - s(f.death), i]);
  c._hits.forEach(([x, y, i]) => { g.fillStyle = COL[F[i].dim % 4];
    g.beginPath(); g.arc(x, y, i === sel ? 6 : 3.5, 0, 7); g.fill(); });
}
function barcode(){
  const c = document.getElementById("barcode"), g = c.getContext("2d"), m = 20;
  const h = Math.max(2, Math.min(14, (c.height - 2 * m) / Math.max(1, F.length)));
  const s = v => m + (c.width - 2 * m) * (v === null ? 1.05 : v / vmax) / 1.05;
  g.clearRect(0, 0, c.width, c.height); c._hits = [];
  F.forEach((f, i) => { const y = m + i * h; g.fillStyle = i === sel ? "#f0a500" : COL[f.dim % 4];
    g.fillRect(s(f.birth), y, Math.max(1, s(f.death) - s(f.birth)), h * 0.8);
    c._hits.push([s(f.birth), y, s(f.death), y + h, i]); });
}
function table(){
  const tb = document.querySelector("#table tbody"); tb.innerHTML = "";
  F.forEach((f, i) => { const tr = document.createElement("tr");
    if (i === sel) tr.className = "sel";
    const fmt = v => v === null ? "\u221e" : v.toPrecision(4);
    [i, f.dim, fmt(f.birth), fmt(f.death), fmt(f.radius),
     f.centre.map(v => v === null ? "-" : v.toFixed(3)).join(", ")].forEach(v => {
      const td = document.createElement("td"); td.textContent = v; tr.appendChild(td); });
    tr.onclick = () => pick(i); tb.appendChild(tr); });
}
const P = D.points, V = D.vertices;
let cx = 0, cy = 0, cz = 0, r = 1e-12;
for (let i = 0; i < P.length; i += 3) { cx += P[i]; cy += P[i + 1]; cz += P[i + 2]; }
const n = Math.max(1, P.length / 3); cx /= n; cy /= n; cz /= n;
for (let i = 0; i < P.length; i += 3)
  r = Math.max(r, Math.hypot(P[i] - cx, P[i + 1] - cy, P[i + 2] - cz));
function project(x, y, z, c){
  x -= cx; y -= cy; z -= cz;
  const ca = Math.cos(yaw), sa = Math.sin(yaw), cb = Math.cos(pitch), sb = Math.sin(pitch);
  const x1 = ca * x + sa * y, y1 = -sa * x + ca * y;
  const y2 = cb * y1 - sb * z, z2 = sb * y1 + cb * z;
  const k = zoom * 0.45 * Math.min(c.width, c.height) / r;
  return [c.width / 2 + k * x1, c.height / 2 - k * z2, y2];
}
function view(){
  const c = document.getElementById("view"), g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height); g.fillStyle = "rgba(90,90,90,0.35)";
  for (let i = 0; i < P.length; i += 3) {
    const [x, y] = project(P[i], P[i + 1], P[i + 2], c); g.fillRect(x, y, 1.5, 1.5); }
  if (sel < 0) return;
  const f = F[sel], vx = j => project(V[3 * j], V[3 * j + 1], V[3 * j + 2], c);
  g.strokeStyle = "#e6550d"; g.fillStyle = "rgba(230,85,13,0.18)"; g.lineWidth = 1.5;
  f.cycle.forEach(s => { const q = s.map(vx); g.beginPath(); g.moveTo(q[0][0], q[0][1]);
    for (let j = 1; j < q.length; j++) g.lineTo(q[j][0], q[j][1]);
    if (q.length > 2) { g.closePath(); g.fill(); } g.stroke(); });
  if (f.centre[0] !== null) { const [x, y] = project(f.centre[0], f.centre[1], f.centre[2], c);
    g.fillStyle = "#000"; g.beginPath(); g.arc(x, y, 5, 0, 7); g.fill(); }
}
function drawAll(){ diagram(); barcode(); table(); view(); }
function clickHits(id, test){ document.getElementById(id).addEventListener("click", e => {
  const c = e.target, b = c.getBoundingClientRect(), x = e.clientX - b.left, y = e.clientY - b.top;
  const hit = c._hits.find(h => test(h, x, y)); if (hit) pick(hit[hit.length - 1]); }); }
clickHits("diagram", (h, x, y) => Math.hypot(h[0] - x, h[1] - y) < 7);
clickHits("barcode", (h, x, y) => y >= h[1] && y <= h[3]);
const cv = document.getElementById("view"); let drag = null;
cv.addEventListener("mousedown", e => { drag = [e.clientX, e.clientY]; });
window.addEventListener("mouseup", () => { drag = null; });
window.addEventListener("mousemove", e => { if (!drag) return;
  yaw += (e.clientX - drag[0]) * 0.01; pitch += (e.clientY - drag[1]) * 0.01;
  drag = [e.clientX, e.clientY]; view(); });
cv.addEventListener("wheel", e => { e.preventDefault();
  zoom *= e.deltaY < 0 ? 1.1 : 1 / 1.1; view(); }, {passive: false});
window.floodReport = {pick: pick, features: F};
drawAll();
document.body.dataset.rendered = "yes";
})();
"""
