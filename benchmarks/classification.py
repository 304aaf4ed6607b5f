"""Learning with Flood PH against subsampled Alpha PH and (pruned) point-cloud networks.

The Flood-complex paper's learning experiment, scaled to a CPU: two tasks,

- **swiss cheese**: cubes [0, 5]^3 with 10 or 20 spherical voids (radii 0.1-0.5), classify;
- **rocks**: rock surfaces (blob vs fractal), classify, and regress their surface area,

with repeated stratified 70/30 splits (mean +- std over ``--repeats``). Methods:

- **Flood PH**: certified Flood diagrams (H0-H2) at a few landmark counts, then Atol
  (k-means centres, exponential contrast) + persistence statistics per dimension
  (:class:`flood.PersistenceFeatures`), standardised, into ``LogisticRegressionCV`` (or
  ``RidgeCV`` for the area). Diagrams use all points of each cloud.
- **Alpha PH**: ``gudhi.AlphaComplex`` (radius units) on a random subsample of each cloud, the
  paper's PH baseline, through the same features and model.
- **Networks**: :class:`flood.sparse_nn.SparsePointCloudClassifier`, PointNet and DGCNN dense,
  PointNet pruned to 0.5/0.8/0.9/0.95 with gradual magnitude, random and ERK pruning (and DGCNN
  with gradual magnitude pruning when ``--dgcnn-pruned``). Classification only.

Diagrams do not depend on the split (each cloud's are computed once, with one seed per cloud);
every learned step (feature centres, scaler, model, network) is fitted on the training part
of each split only. ``time_s`` is honest wall time on this machine: for PH, the diagrams of
all clouds plus the mean fit-and-predict time of one split; for networks, the mean
fit-and-predict time of one split. Everything runs on one thread (``--threads``)::

    python benchmarks/classification.py            # default, ~15 min on 2 shared CPU cores
    python benchmarks/classification.py --quick    # smoke run, seconds
    python benchmarks/classification.py --full     # the paper's sizes (GPU-scale; days on CPU)

Writes ``classification.md``, ``classification.csv`` and three PNG plots to ``--out``.
"""

import argparse
import csv
import os
import pathlib
import platform
import subprocess
import sys
import time

os.environ.setdefault(
    "WARP_CACHE_PATH", str(pathlib.Path(__file__).resolve().parents[1] / "build" / "warp-cache")
)

import numpy as np  # noqa: E402

#: Sizes per mode; ``default`` fits a shared 2-core CPU in about 15 minutes.
MODES = {
    "quick": dict(
        n_clouds=16, n_points=2_000, landmarks=(30,), alpha_points=(300,), repeats=2,
        epochs=2, nn_points=128, width=8, sparsities=(0.8,), rock_resolution=16,
    ),
    "default": dict(
        n_clouds=40, n_points=20_000, landmarks=(50, 150), alpha_points=(1_000, 2_000),
        repeats=3, epochs=10, nn_points=256, width=16, sparsities=(0.5, 0.8, 0.9, 0.95),
        rock_resolution=32,
    ),
    "full": dict(
        n_clouds=1_000, n_points=1_000_000, landmarks=(2_000,), alpha_points=(2_000,),
        repeats=3, epochs=200, nn_points=2_048, width=64, sparsities=(0.5, 0.8, 0.9, 0.95),
        rock_resolution=48,
    ),
}  # fmt: skip
PRUNING = {"gradual": "gradual magnitude", "random": "random (uniform)", "erk": "random (ERK)"}
COLUMNS = [
    "task", "family", "method", "setting", "points_used", "sparsity", "achieved_sparsity",
    "metric", "mean", "std", "mae_mean", "mae_std", "time_s", "n_train", "n_test",
]  # fmt: skip


# --------------------------------------------------------------------------- data and PH
def _clouds(task, n_clouds, n_points, resolution, seed):
    """Yield (cloud, label, area) one at a time (the full sizes do not fit in memory)."""
    from flood.datasets import make_rock, make_swiss_cheese

    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n_clouds) % 2)
    seeds = rng.integers(0, 2**32, size=n_clouds)
    for label, s in zip(labels, seeds, strict=True):
        if task == "swiss_cheese":
            cloud = make_swiss_cheese(n_points, n_voids=(10, 20)[label], random_state=s)
            yield cloud, int(label), float("nan")
        else:
            rock = make_rock(
                n_points, kind=("blob", "fractal")[label], resolution=resolution, random_state=s
            )
            yield rock.points, int(label), float(rock["area"])


def _alpha_diagrams(points):
    import gudhi

    st = gudhi.AlphaComplex(points=points).create_simplex_tree(output_squared_values=False)
    st.compute_persistence()
    return [
        np.asarray(st.persistence_intervals_in_dimension(q), dtype=float).reshape(-1, 2)
        for q in (0, 1, 2)
    ]


def compute_inputs(task, cfg, seed, tol, threads):
    """Diagrams (Flood per landmark count, Alpha per subsample size) and network inputs."""
    from tqdm.auto import tqdm

    from flood import flood_complex

    flood = {L: [] for L in cfg["landmarks"]}
    alpha = {m: [] for m in cfg["alpha_points"]}
    seconds = {("flood", L): 0.0 for L in flood} | {("alpha", m): 0.0 for m in alpha}
    nn_inputs, y, area = [], [], []
    rng = np.random.default_rng(seed + 1)
    stream = _clouds(task, cfg["n_clouds"], cfg["n_points"], cfg["rock_resolution"], seed)
    for cloud, label, a in tqdm(stream, total=cfg["n_clouds"], desc=task, leave=False):
        y.append(label)
        area.append(a)
        abs_tol = None
        if tol is not None:
            abs_tol = tol * float(np.linalg.norm(cloud.max(axis=0) - cloud.min(axis=0)))
        cloud_seed = int(rng.integers(2**31 - 1))
        for L in flood:
            start = time.perf_counter()
            result = flood_complex(
                cloud, L, tol=abs_tol, device="cpu", random_state=cloud_seed, n_threads=threads
            )
            flood[L].append(result.diagrams((0, 1, 2)))
            seconds["flood", L] += time.perf_counter() - start
        for m in alpha:
            start = time.perf_counter()
            sub = cloud[rng.choice(len(cloud), size=min(m, len(cloud)), replace=False)]
            alpha[m].append(_alpha_diagrams(sub))
            seconds["alpha", m] += time.perf_counter() - start
        keep = min(len(cloud), 4 * cfg["nn_points"])  # the network resamples nn_points of these
        nn_inputs.append(cloud[rng.choice(len(cloud), size=keep, replace=False)])
    return dict(
        flood=flood, alpha=alpha, seconds=seconds, nn=nn_inputs, y=np.array(y), area=np.array(area)
    )


# --------------------------------------------------------------------------- models
def _ph_model(regression, seed):
    from sklearn.linear_model import LogisticRegressionCV, RidgeCV
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.preprocessing import StandardScaler

    from flood import PersistenceFeatures

    features = make_union(
        PersistenceFeatures(vectorizer="atol", n_centers=8, random_state=seed),
        PersistenceFeatures(vectorizer="stats"),
    )
    head = (
        RidgeCV(alphas=np.logspace(-3, 3, 13))
        if regression
        else LogisticRegressionCV(Cs=10, cv=3, max_iter=5_000)
    )
    return make_pipeline(features, StandardScaler(), head)


def _splits(y, repeats, seed, stratify):
    from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

    cls = StratifiedShuffleSplit if stratify else ShuffleSplit
    return list(cls(n_splits=repeats, test_size=0.3, random_state=seed).split(np.zeros(len(y)), y))


def _score_ph(diagrams, y, splits, regression, seed):
    from sklearn.metrics import mean_absolute_error

    scores, maes, times = [], [], []
    for train, test in splits:
        start = time.perf_counter()
        model = _ph_model(regression, seed).fit([diagrams[i] for i in train], y[train])
        X_test = [diagrams[i] for i in test]
        scores.append(model.score(X_test, y[test]))
        if regression:
            maes.append(mean_absolute_error(y[test], model.predict(X_test)))
        times.append(time.perf_counter() - start)
    return scores, maes, float(np.mean(times))


def _score_nn(clouds, y, splits, params):
    from flood.sparse_nn import SparsePointCloudClassifier

    scores, achieved, times = [], [], []
    for k, (train, test) in enumerate(splits):
        start = time.perf_counter()
        clf = SparsePointCloudClassifier(random_state=k, **params)
        clf.fit([clouds[i] for i in train], y[train])
        scores.append(clf.score([clouds[i] for i in test], y[test]))
        achieved.append(clf.sparsity_report_.sparsity)
        times.append(time.perf_counter() - start)
    return scores, float(np.mean(achieved)), float(np.mean(times))


def _row(task, family, method, setting, points, scores, time_s, n, metric="accuracy", **extra):
    row = dict.fromkeys(COLUMNS, "")
    row.update(
        task=task, family=family, method=method, setting=setting, points_used=points,
        metric=metric, mean=float(np.mean(scores)), std=float(np.std(scores)),
        time_s=round(time_s, 2), n_train=n[0], n_test=n[1], **extra,
    )  # fmt: skip
    return row


def run_task(task, cfg, args, log):
    inputs = compute_inputs(task, cfg, args.seed, args.tol, args.threads)
    y, rows = inputs["y"], []
    splits = _splits(y, cfg["repeats"], args.seed, stratify=True)
    n = (len(splits[0][0]), len(splits[0][1]))
    targets = [("accuracy", y, False)]
    if task == "rocks":
        targets.append(("R2 (area)", inputs["area"], True))
    for metric, target, regression in targets:
        these = _splits(target, cfg["repeats"], args.seed, stratify=False) if regression else splits
        for kind, per in (("flood", inputs["flood"]), ("alpha", inputs["alpha"])):
            for size, diagrams in per.items():
                scores, maes, fit_s = _score_ph(diagrams, target, these, regression, args.seed)
                diagram_s = inputs["seconds"][kind, size]
                family = "Flood PH" if kind == "flood" else "Alpha PH"
                setting = f"{size} landmarks" if kind == "flood" else f"{size} random points"
                points = cfg["n_points"] if kind == "flood" else size
                extra = dict(mae_mean=np.mean(maes), mae_std=np.std(maes)) if regression else {}
                rows.append(
                    _row(task, family, family, setting, points, scores, diagram_s + fit_s, n,
                         metric=metric, **extra)
                )  # fmt: skip
                log(rows[-1])
    nn_common = dict(
        n_points=cfg["nn_points"], width=cfg["width"], epochs=cfg["epochs"], batch_size=16,
        learning_rate=3e-3, validation_fraction=0.1,
    )  # fmt: skip
    plans = [("PointNet", "pointnet", None, 0.0), ("DGCNN", "dgcnn", None, 0.0)]
    for pruning in PRUNING:
        plans += [("PointNet", "pointnet", pruning, s) for s in cfg["sparsities"]]
    if args.dgcnn_pruned:
        plans += [("DGCNN", "dgcnn", "gradual", s) for s in cfg["sparsities"]]
    for family, arch, pruning, sparsity in plans:
        params = dict(nn_common, architecture=arch, pruning=pruning, sparsity=sparsity or 0.5)
        scores, achieved, fit_s = _score_nn(inputs["nn"], y, splits, params)
        method = f"{family} dense" if pruning is None else f"{family} {PRUNING[pruning]}"
        rows.append(
            _row(task, family, method, f"{cfg['epochs']} epochs", cfg["nn_points"], scores,
                 fit_s, n, sparsity=sparsity, achieved_sparsity=round(achieved, 4))
        )  # fmt: skip
        log(rows[-1])
    return rows


# --------------------------------------------------------------------------- output
def _fmt(row):
    score = f"{row['mean']:.3f} ± {row['std']:.3f}"
    if row["mae_mean"] != "":
        score += f" (MAE {row['mae_mean']:.3f} ± {row['mae_std']:.3f})"
    sparsity = "" if row["sparsity"] == "" else f"{row['sparsity']:.2f}"
    return (
        f"| {row['method']} | {row['setting']} | {row['points_used']:,} | {sparsity} | "
        f"{score} | {row['time_s']:.1f} |"
    )


def markdown(rows, header):
    lines = [header, ""]
    for (task, metric), group in _groups(rows).items():
        lines += [
            f"### {task.replace('_', ' ')}: {metric} ({group[0]['n_train']} train / "
            f"{group[0]['n_test']} test clouds)",
            "",
            f"| method | setting | points used | sparsity | {metric} (mean ± std) | time s |",
            "|---|---|---|---|---|---|",
            *map(_fmt, group),
            "",
        ]
    return "\n".join(lines)


def _groups(rows):
    groups = {}
    for row in rows:
        groups.setdefault((row["task"], row["metric"]), []).append(row)
    return groups


def plots(rows, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"Flood PH": "C0", "Alpha PH": "C1", "PointNet": "C2", "DGCNN": "C3"}
    groups = {k: g for k, g in _groups(rows).items() if k[1] == "accuracy"}
    paths = []
    for name, x_key, x_label in (
        ("accuracy_vs_points", "points_used", "points per cloud used"),
        ("accuracy_vs_time", "time_s", "wall seconds (diagrams + fit, or network fit)"),
        ("accuracy_vs_sparsity", "sparsity", "target sparsity"),
    ):
        fig, axes = plt.subplots(1, len(groups), figsize=(6 * len(groups), 4.5), squeeze=False)
        for ax, ((task, _), group) in zip(axes[0], groups.items()):
            if name == "accuracy_vs_sparsity":
                for family, marker in (("PointNet", "o"), ("DGCNN", "s")):
                    dense = [r for r in group if r["method"] == f"{family} dense"]
                    for k, label in enumerate(PRUNING.values()):
                        pts = dense + [r for r in group if r["method"] == f"{family} {label}"]
                        if len(pts) > len(dense):
                            ax.errorbar([r["sparsity"] for r in pts], [r["mean"] for r in pts],
                                        [r["std"] for r in pts], marker=marker, capsize=3,
                                        color=f"C{k + 2}", label=f"{family} {label}")  # fmt: skip
                for family, ls in (("Flood PH", "--"), ("Alpha PH", ":")):
                    best = max((r for r in group if r["family"] == family), key=lambda r: r["mean"])
                    ax.axhline(best["mean"], ls=ls, color=colours[family],
                               label=f"best {family} ({best['setting']})")  # fmt: skip
            else:
                for r in group:
                    if x_key == "points_used" and r["sparsity"] not in ("", 0.0):
                        continue
                    ax.errorbar(r[x_key], r["mean"], r["std"], marker="o", capsize=3,
                                color=colours[r["family"]], alpha=0.8)  # fmt: skip
                    ax.annotate(r["method"].replace(" magnitude", "") + f"\n{r['setting']}"
                                if r["family"].endswith("PH") or x_key == "points_used"
                                else "", (r[x_key], r["mean"]), fontsize=6)  # fmt: skip
                for family, c in colours.items():
                    ax.plot([], [], "o", color=c, label=family)
                ax.set_xscale("log")
            ax.set_xlabel(x_label)
            ax.set_ylabel("test accuracy")
            ax.set_title(task.replace("_", " "))
            ax.legend(fontsize=7, loc="lower left")
        fig.tight_layout()
        path = out / f"{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def _commit():
    try:
        root = pathlib.Path(__file__).resolve().parents[1]
        cmd = ["git", "-C", str(root), "rev-parse", "--short", "HEAD"]
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="tiny smoke run (seconds)")
    mode.add_argument("--full", action="store_true", help="the paper's sizes")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("benchmarks/out"))
    parser.add_argument("--tasks", default="swiss_cheese,rocks")
    parser.add_argument("--n-clouds", type=int, help="clouds per task (both classes)")
    parser.add_argument("--n-points", type=int, help="points per cloud")
    parser.add_argument("--landmarks", help="comma-separated Flood landmark counts")
    parser.add_argument("--alpha-points", help="comma-separated Alpha subsample sizes")
    parser.add_argument("--repeats", type=int, help="random 70/30 splits")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--nn-points", type=int, help="points per cloud fed to the networks")
    parser.add_argument("--width", type=int, help="network base width")
    parser.add_argument(
        "--tol", type=float, default=0.005,
        help="Flood certified gap as a fraction of each cloud's bounding-box diagonal "
        "(negative: the library default, 1%% of the landmark covering radius)",
    )  # fmt: skip
    parser.add_argument("--dgcnn-pruned", action="store_true", help="also prune DGCNN")
    parser.add_argument("--threads", type=int, default=1, help="threads for Warp and torch")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full" if args.full else "default"
    cfg = dict(MODES[mode], mode=mode)
    for key in ("n_clouds", "n_points", "repeats", "epochs", "nn_points", "width"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    for key in ("landmarks", "alpha_points"):
        if getattr(args, key):
            cfg[key] = tuple(int(v) for v in getattr(args, key).split(","))
    if args.tol is not None and args.tol < 0:
        args.tol = None
    return args, cfg


def main(argv=None):
    """Run the benchmark; return the result rows (also written as CSV, markdown and PNGs)."""
    import torch

    args, cfg = parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        import warp as wp

        wp.config.quiet = True
    except ImportError:  # pragma: no cover - warp is a core dependency
        pass
    args.out.mkdir(parents=True, exist_ok=True)
    clock = time.perf_counter()

    def log(row):
        print(f"[{time.perf_counter() - clock:7.1f} s] {row['task']}: " + _fmt(row), flush=True)

    rows = []
    for task in args.tasks.split(","):
        if task not in ("swiss_cheese", "rocks"):
            raise ValueError(f"--tasks: unknown task {task!r}; use swiss_cheese and/or rocks.")
        rows += run_task(task, cfg, args, log)
    total = time.perf_counter() - clock
    header = (
        f"## Classification benchmark ({cfg['mode']} mode), commit {_commit()}\n\n"
        f"{cfg['n_clouds']} clouds per task of {cfg['n_points']:,} points, {cfg['repeats']} "
        f"random 70/30 splits; Flood tol {args.tol} x bbox diagonal; networks: "
        f"{cfg['nn_points']} points, width {cfg['width']}, {cfg['epochs']} epochs; "
        f"{args.threads} thread(s); Python {platform.python_version()}, torch "
        f"{torch.__version__}, {os.cpu_count()} CPUs (shared); total wall time {total:.0f} s."
    )
    with open(args.out / "classification.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    table = markdown(rows, header)
    (args.out / "classification.md").write_text(table + "\n")
    paths = plots(rows, args.out)
    print("\n" + table)
    print("wrote", args.out / "classification.csv", *map(str, paths))
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
