"""Learning with Flood PH against subsampled Alpha PH and (pruned) point-cloud networks.

The Flood-complex paper's learning experiment on a CPU: two tasks,

- **swiss cheese**: cubes [0, 5]^3 with 10 or 20 spherical voids (radii 0.1-0.5), classify;
- **rocks**: rock surfaces (blob vs fractal), classify, and regress their surface area,

with ``--repeats`` stratified 70/30 splits (mean +- std). Methods:

- **Flood PH**: certified Flood diagrams (H0-H2) of the full clouds at a few landmark counts,
  then Atol (k-means centres) + persistence statistics per dimension
  (:class:`flood.PersistenceFeatures`), standardised, into ``LogisticRegressionCV`` (its C
  chosen by 3-fold CV on the training part; ``RidgeCV`` for the area).
- **Alpha PH**: ``gudhi.AlphaComplex`` on random subsamples of each cloud (several sizes),
  through the same features and model.
- **Networks** (:class:`flood.sparse_nn.SparsePointCloudClassifier`): PointNet and DGCNN on
  ``--nn-points`` points per cloud, trained with augmentation (a fresh random subset of a 4x
  pool every epoch, rotation about z, scaling, jitter), a cosine learning rate, early stopping
  on a stratified 15 % validation part of the training clouds, and the weights of the best
  validation epoch. The learning rate is chosen per split from a small grid by validation
  accuracy (then loss) only; the pruned PointNets reuse the dense PointNet's choice. Every
  pruning method of ``flood.sparse_nn`` (one-shot magnitude, gradual magnitude, random
  uniform, random ERK, N:M with m=16, IMP with rewinding, sparse model soups) at each
  ``--sparsities`` value.

Diagrams do not depend on the split (each cloud's are computed once from its own seed); every
learned step (feature centres, scaler, C, network, learning rate) is fitted on the training
part of each split only. Times are CPU seconds of one thread per cloud of a split: for PH,
the diagrams of one cloud plus the split's fit and prediction divided by its clouds; for
networks, training (all grid points) and prediction divided by the clouds. Work runs in
``--jobs`` processes of one thread each::

    python benchmarks/classification.py            # default: 31 min on 2 cores (00f5193)
    python benchmarks/classification.py --quick    # smoke run, a minute
    python benchmarks/classification.py --full     # paper's sizes: 3-6 h on 2 cores (estimate)

Writes ``classification.md``, ``classification.csv``, ``curves.csv`` and four PNG plots to
``--out``.
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
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _classification_report import COLUMNS, PRUNING, fmt_row, markdown, plots  # noqa: E402

#: Sizes per mode. ``soup``: (rounds, ingredients); ``*_grid``: learning rates tried.
MODES = {
    "quick": dict(
        n_clouds=20, n_points=2_000, landmarks=(30,), alpha_points=(300,), repeats=2,
        max_epochs=4, patience=2, dgcnn_max_epochs=3, dgcnn_patience=2, nn_points=128,
        width=8, dgcnn_width=8, dgcnn_k=8, lr_grid=(3e-3,), dgcnn_lr_grid=(3e-3,),
        sparsities=(0.8,), imp_rounds=1, soup=(1, 2), rock_resolution=16,
    ),
    "default": dict(
        n_clouds=60, n_points=100_000, landmarks=(500, 2_000), alpha_points=(1_000, 2_000, 5_000),
        repeats=5, max_epochs=40, patience=8, dgcnn_max_epochs=25, dgcnn_patience=6,
        nn_points=1_024, width=16, dgcnn_width=16, dgcnn_k=10, lr_grid=(1e-3, 3e-3),
        dgcnn_lr_grid=(1e-3,), sparsities=(0.5, 0.9), imp_rounds=2, soup=(2, 2),
        rock_resolution=32,
    ),
    "full": dict(
        n_clouds=200, n_points=1_000_000, landmarks=(2_000,),
        alpha_points=(1_000, 2_000, 5_000, 10_000), repeats=5, max_epochs=100, patience=15,
        dgcnn_max_epochs=40, dgcnn_patience=8, nn_points=1_024, width=16, dgcnn_width=16,
        dgcnn_k=10, lr_grid=(1e-3, 3e-3), dgcnn_lr_grid=(1e-3, 3e-3),
        sparsities=(0.5, 0.8, 0.9, 0.95), imp_rounds=2, soup=(2, 2), rock_resolution=48,
    ),
}  # fmt: skip
#: Method families (``--families``).
FAMILIES = ("flood", "alpha", "pointnet", "dgcnn", "pruned")
#: Share of each split's training clouds held out for early stopping and the grid choice.
VALIDATION_FRACTION = 0.15
#: N:M group size: widths 16 and up are multiples of it; sparsity 1 - n/16 nearest the target.
NM_GROUP = 16
#: Pool of points per cloud handed to the networks, in multiples of ``nn_points`` (the
#: classifier keeps 4x of them and draws ``nn_points`` per epoch).
NN_POOL = 8


# --------------------------------------------------------------------------- data and PH
def _make_cloud(task, label, n_points, resolution, seed):
    from flood.datasets import make_rock, make_swiss_cheese

    if task == "swiss_cheese":
        return make_swiss_cheese(n_points, n_voids=(10, 20)[label], random_state=seed), np.nan
    rock = make_rock(
        n_points, kind=("blob", "fractal")[label], resolution=resolution, random_state=seed
    )
    return rock.points, float(rock["area"])


def _alpha_diagrams(points):
    import gudhi

    st = gudhi.AlphaComplex(points=points).create_simplex_tree(output_squared_values=False)
    st.compute_persistence()
    return [
        np.asarray(st.persistence_intervals_in_dimension(q), dtype=float).reshape(-1, 2)
        for q in (0, 1, 2)
    ]


def cloud_job(task, label, seed, cfg, tol):
    """One cloud: its Flood and Alpha diagrams, CPU seconds of each, and the network's pool."""
    _one_thread()
    from flood import flood_complex

    cloud, area = _make_cloud(task, label, cfg["n_points"], cfg["rock_resolution"], seed)
    rng = np.random.default_rng(seed + 1)
    abs_tol = None
    if tol is not None:
        abs_tol = tol * float(np.linalg.norm(cloud.max(axis=0) - cloud.min(axis=0)))
    out = dict(label=label, area=area, flood={}, alpha={}, cpu={})
    for L in cfg["landmarks"]:
        start = time.process_time()
        result = flood_complex(
            cloud, L, tol=abs_tol, device="cpu", random_state=seed % 2**31, n_threads=1
        )
        out["flood"][L] = result.diagrams((0, 1, 2))
        out["cpu"]["flood", L] = time.process_time() - start
    for m in cfg["alpha_points"]:
        start = time.process_time()
        sub = cloud[rng.choice(len(cloud), size=min(m, len(cloud)), replace=False)]
        out["alpha"][m] = _alpha_diagrams(sub)
        out["cpu"]["alpha", m] = time.process_time() - start
    keep = min(len(cloud), NN_POOL * cfg["nn_points"])
    out["nn"] = cloud[rng.choice(len(cloud), size=keep, replace=False)].astype(np.float32)
    return out


def _one_thread():
    import torch

    torch.set_num_threads(1)
    import warp as wp

    wp.config.quiet = True


def compute_inputs(task, cfg, args, parallel):
    """Every cloud's diagrams and network pool (clouds are made in the workers from seeds)."""
    from joblib import delayed

    rng = np.random.default_rng(args.seed)
    labels = rng.permutation(np.arange(cfg["n_clouds"]) % 2)
    seeds = rng.integers(0, 2**32, size=cfg["n_clouds"])
    jobs = (
        delayed(cloud_job)(task, int(lab), int(s), cfg, args.tol)
        for lab, s in zip(labels, seeds, strict=True)
    )
    clouds = list(_progress(parallel(jobs), cfg["n_clouds"], f"{task} diagrams"))
    return dict(
        flood={L: [c["flood"][L] for c in clouds] for L in cfg["landmarks"]},
        alpha={m: [c["alpha"][m] for c in clouds] for m in cfg["alpha_points"]},
        cpu={k: float(np.mean([c["cpu"][k] for c in clouds])) for k in clouds[0]["cpu"]},
        nn=np.stack([c["nn"] for c in clouds]),
        y=np.array([c["label"] for c in clouds]),
        area=np.array([c["area"] for c in clouds]),
    )


def _progress(iterable, total, desc):
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=False)


# --------------------------------------------------------------------------- PH models
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
        else LogisticRegressionCV(
            Cs=10,
            cv=3,
            max_iter=5_000,
            scoring="accuracy",
            use_legacy_attributes=False,
            l1_ratios=(0.0,),
        )
    )
    return make_pipeline(features, StandardScaler(), head)


def _splits(y, repeats, seed, stratify):
    from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

    cls = StratifiedShuffleSplit if stratify else ShuffleSplit
    return list(cls(n_splits=repeats, test_size=0.3, random_state=seed).split(np.zeros(len(y)), y))


def ph_split_job(diagrams, y, train, test, regression, seed):
    """Fit and score the PH model on one split: (score, MAE or NaN, CPU s per cloud)."""
    from sklearn.metrics import mean_absolute_error

    start = time.process_time()
    model = _ph_model(regression, seed).fit([diagrams[i] for i in train], y[train])
    X_test = [diagrams[i] for i in test]
    score = model.score(X_test, y[test])
    mae = mean_absolute_error(y[test], model.predict(X_test)) if regression else np.nan
    return score, mae, (time.process_time() - start) / (len(train) + len(test))


# --------------------------------------------------------------------------- networks
def _nm_sparsity(target):
    n = min(NM_GROUP - 1, max(1, round(NM_GROUP * (1.0 - target))))
    return 1.0 - n / NM_GROUP


def network_params(cfg, arch, pruning, sparsity, lr):
    """SparsePointCloudClassifier parameters of one plan."""
    dgcnn = arch == "dgcnn"
    epochs = cfg["dgcnn_max_epochs" if dgcnn else "max_epochs"]
    params = dict(
        architecture=arch, n_points=cfg["nn_points"],
        width=cfg["dgcnn_width" if dgcnn else "width"], n_neighbors=cfg["dgcnn_k"],
        epochs=epochs, batch_size=16, learning_rate=lr,
        lr_schedule="cosine", patience=cfg["dgcnn_patience" if dgcnn else "patience"],
        augment=True, validation_fraction=VALIDATION_FRACTION, pruning=pruning,
        sparsity=sparsity if pruning else 0.5,
    )  # fmt: skip
    options = {
        "magnitude": {"prune_epoch": epochs // 4},
        "gradual": {"begin": 0.05, "end": 0.3},
        "nm": {"m": NM_GROUP},
        "imp": {"rounds": cfg["imp_rounds"]},
        "soup": {"rounds": cfg["soup"][0], "ingredients": cfg["soup"][1]},
    }
    if pruning == "nm":
        params["sparsity"] = _nm_sparsity(sparsity)
    if pruning in options:
        params["pruning_params"] = options[pruning]
    return params


def network_job(clouds, y, train, test, params, seed):
    """Fit one network on one split; test accuracy, the kept epoch's scores, curves, CPU s."""
    _one_thread()
    from flood.sparse_nn import SparsePointCloudClassifier

    start = time.process_time()
    clf = SparsePointCloudClassifier(random_state=seed, **params).fit(clouds[train], y[train])
    fitted = time.process_time()
    accuracy = clf.score(clouds[test], y[test])
    kept = clf.history_[clf.best_epoch_]
    return dict(
        test=accuracy, train=kept["accuracy"], val=kept["val_accuracy"],
        val_loss=kept["val_loss"], epochs=len(clf.history_), best_epoch=clf.best_epoch_,
        curve=[(r["accuracy"], r["val_accuracy"]) for r in clf.history_ if not r["soup"]],
        achieved=clf.sparsity_report_.sparsity, fit_cpu=fitted - start,
        predict_cpu=time.process_time() - fitted,
    )  # fmt: skip


def run_networks(task, cfg, inputs, splits, parallel):
    """Dense grids first (choice per split on validation), then every pruned PointNet."""
    from joblib import delayed

    clouds, y = inputs["nn"], inputs["y"]

    def run(pairs):  # (plan, split index) pairs; plan = (arch, pruning, sparsity, lr)
        jobs = [
            delayed(network_job)(clouds, y, *splits[k], network_params(cfg, *plan), k)
            for plan, k in pairs
        ]
        return dict(zip(pairs, _progress(parallel(jobs), len(jobs), f"{task} networks")))

    grids = {
        "dgcnn": [("dgcnn", None, 0.0, lr) for lr in cfg["dgcnn_lr_grid"]],
        "pointnet": [("pointnet", None, 0.0, lr) for lr in cfg["lr_grid"]],
    }
    grids = {arch: plans for arch, plans in grids.items() if arch in cfg["families"]}
    folds = range(len(splits))
    dense = run([(p, k) for plans in grids.values() for p in plans for k in folds])
    results, chosen = {}, []
    for arch, plans in grids.items():
        picks = []
        for k in folds:
            plan = max(plans, key=lambda p, k=k: (dense[p, k]["val"], -dense[p, k]["val_loss"]))
            grid_cpu = sum(dense[p, k]["fit_cpu"] for p in plans)
            picks.append(dict(dense[plan, k], lr=plan[3], grid_cpu=grid_cpu))
        results[arch, None, 0.0] = picks
        if arch == "pointnet":
            chosen = [p["lr"] for p in picks]
    if "pruned" not in cfg["families"]:
        return results
    pruned = [
        (("pointnet", pruning, s, chosen[k]), k)
        for pruning in PRUNING
        for s in cfg["sparsities"]
        for k in folds
    ]
    done = run(pruned)
    for pruning in PRUNING:
        for s in cfg["sparsities"]:
            results["pointnet", pruning, s] = [
                dict(done[("pointnet", pruning, s, chosen[k]), k], lr=chosen[k]) for k in folds
            ]
    return results


# --------------------------------------------------------------------------- rows
def _row(task, family, method, setting, points, scores, seconds, n, metric="accuracy", **extra):
    row = dict.fromkeys(COLUMNS, "")
    row.update(
        task=task, family=family, method=method, setting=setting, points_used=points,
        metric=metric, mean=float(np.mean(scores)), std=float(np.std(scores)),
        cpu_s_per_cloud=round(seconds, 4), n_train=n[0], n_test=n[1], **extra,
    )  # fmt: skip
    return row


def ph_rows(task, cfg, inputs, splits, seed, parallel):
    """Rows of the PH pipelines; every (setting, split) fit runs as one job."""
    from joblib import delayed

    n = (len(splits[0][0]), len(splits[0][1]))
    targets = [("accuracy", inputs["y"], False, splits)]
    if task == "rocks":
        area_splits = _splits(inputs["area"], cfg["repeats"], seed, stratify=False)
        targets.append(("R2 (area)", inputs["area"], True, area_splits))
    plans = [
        (metric, target, regression, these, kind, size)
        for metric, target, regression, these in targets
        for kind in ("flood", "alpha")
        for size in inputs[kind]
    ]
    jobs = [
        delayed(ph_split_job)(inputs[kind][size], target, tr, te, regression, seed)
        for _, target, regression, these, kind, size in plans
        for tr, te in these
    ]
    done = list(_progress(parallel(jobs), len(jobs), f"{task} PH models"))
    rows = []
    for i, (metric, _, regression, these, kind, size) in enumerate(plans):
        scores, maes, fit_s = zip(*done[i * len(these) : (i + 1) * len(these)], strict=True)
        family = "Flood PH" if kind == "flood" else "Alpha PH"
        setting = f"{size} landmarks" if kind == "flood" else f"{size} random points"
        points = cfg["n_points"] if kind == "flood" else size
        extra = dict(mae_mean=np.mean(maes), mae_std=np.std(maes)) if regression else {}
        seconds = inputs["cpu"][kind, size] + float(np.mean(fit_s))
        rows.append(_row(task, family, family, setting, points, scores, seconds, n,
                         metric=metric, **extra))  # fmt: skip
    return rows


def network_rows(task, cfg, results, splits):
    rows, n, curves = [], (len(splits[0][0]), len(splits[0][1])), []
    n_clouds = n[0] + n[1]
    for (arch, pruning, sparsity), runs in results.items():
        family = "PointNet" if arch == "pointnet" else "DGCNN"
        method = f"{family} dense" if pruning is None else f"{family} {PRUNING[pruning]}"
        lrs = ", ".join(f"{lr:g}: {sum(r['lr'] == lr for r in runs)}" for lr in
                        sorted({r["lr"] for r in runs}))  # fmt: skip
        cpu = [(r.get("grid_cpu", r["fit_cpu"]) + r["predict_cpu"]) / n_clouds for r in runs]
        rows.append(_row(
            task, family, method, f"lr {lrs}", cfg["nn_points"], [r["test"] for r in runs],
            float(np.mean(cpu)), n, sparsity=sparsity,
            achieved_sparsity=round(float(np.mean([r["achieved"] for r in runs])), 4),
            train_accuracy=round(float(np.mean([r["train"] for r in runs])), 4),
            val_accuracy=round(float(np.mean([r["val"] for r in runs])), 4),
            epochs=round(float(np.mean([r["epochs"] for r in runs])), 1),
        ))  # fmt: skip
        if pruning is None:
            for k, r in enumerate(runs):
                curves += [dict(task=task, method=method, split=k, epoch=e, train=a, val=v)
                           for e, (a, v) in enumerate(r["curve"])]  # fmt: skip
    return rows, curves


def run_task(task, cfg, args, parallel, log):
    inputs = compute_inputs(task, cfg, args, parallel)
    splits = _splits(inputs["y"], cfg["repeats"], args.seed, stratify=True)
    rows = ph_rows(task, cfg, inputs, splits, args.seed, parallel)
    for row in rows:
        log(row)
    results = run_networks(task, cfg, inputs, splits, parallel)
    net_rows, curves = network_rows(task, cfg, results, splits)
    for row in net_rows:
        log(row)
    return rows + net_rows, curves


# --------------------------------------------------------------------------- driver
def _commit():
    """HEAD's short hash, with "+uncommitted changes" where tracked files differ from it."""
    git = ["git", "-C", str(pathlib.Path(__file__).resolve().parents[1])]
    run = dict(capture_output=True, text=True, check=True)
    try:
        head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], **run).stdout.strip()
        dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], **run)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" +uncommitted changes" if dirty.stdout.strip() else "")


def _int_list(option):
    def parse(text):
        try:
            values = tuple(int(v) for v in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{option} takes comma-separated integers. Got {text!r}."
            ) from None
        if min(values) < 1:
            raise argparse.ArgumentTypeError(f"{option} values must be >= 1. Got {text!r}.")
        return values

    return parse


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="tiny smoke run")
    mode.add_argument("--full", action="store_true", help="the paper's sizes")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("benchmarks/out"))
    parser.add_argument("--tasks", default="swiss_cheese,rocks")
    parser.add_argument("--n-clouds", type=int, help="clouds per task (both classes)")
    parser.add_argument("--n-points", type=int, help="points per cloud")
    parser.add_argument("--landmarks", type=_int_list("--landmarks"), help="Flood landmarks")
    parser.add_argument("--alpha-points", type=_int_list("--alpha-points"), help="Alpha sizes")
    parser.add_argument("--repeats", type=int, help="random 70/30 splits")
    parser.add_argument("--max-epochs", type=int, help="PointNet epoch cap per run")
    parser.add_argument("--nn-points", type=int, help="points per cloud fed to the networks")
    parser.add_argument("--width", type=int, help="PointNet base width")
    parser.add_argument(
        "--sparsities", help="comma-separated target sparsities of the pruned networks"
    )
    parser.add_argument(
        "--tol", type=float, default=0.005,
        help="Flood certified gap as a fraction of each cloud's bounding-box diagonal "
        "(negative: the library default, 1%% of the landmark covering radius)",
    )  # fmt: skip
    parser.add_argument(
        "--families", default=",".join(FAMILIES),
        help=f"comma-separated method families to run, among {','.join(FAMILIES)} (pruned "
        "PointNets reuse the dense PointNet's learning rate: 'pruned' needs 'pointnet')",
    )  # fmt: skip
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (1 thread each)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full" if args.full else "default"
    cfg = dict(MODES[mode], mode=mode)
    for key in ("n_clouds", "n_points", "repeats", "max_epochs", "nn_points", "width"):
        value = getattr(args, key)
        if value is not None:
            if value < 1:
                parser.error(f"--{key.replace('_', '-')} must be >= 1. Got {value}.")
            cfg[key] = value
    for key in ("landmarks", "alpha_points"):
        if getattr(args, key):
            cfg[key] = getattr(args, key)
    if args.sparsities:
        try:
            cfg["sparsities"] = tuple(float(v) for v in args.sparsities.split(","))
        except ValueError:
            parser.error(f"--sparsities takes comma-separated floats. Got {args.sparsities!r}.")
        if not all(0 < s < 1 for s in cfg["sparsities"]):
            parser.error(f"--sparsities values must lie in (0, 1). Got {args.sparsities!r}.")
    if cfg["n_clouds"] < 20 or cfg["n_clouds"] % 2:  # >= 1 validation cloud per class
        parser.error(f"--n-clouds must be an even number >= 20. Got {cfg['n_clouds']}.")
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1. Got {args.jobs}.")
    for task in args.tasks.split(","):
        if task not in ("swiss_cheese", "rocks"):
            parser.error(f"--tasks: unknown task {task!r}; use swiss_cheese and/or rocks.")
    cfg["families"] = tuple(args.families.split(","))
    unknown = sorted(set(cfg["families"]) - set(FAMILIES))
    if unknown or ("pruned" in cfg["families"] and "pointnet" not in cfg["families"]):
        parser.error(
            f"--families takes names among {','.join(FAMILIES)}, with 'pointnet' wherever "
            f"'pruned' is. Got {args.families!r}."
        )
    if "flood" not in cfg["families"]:
        cfg["landmarks"] = ()
    if "alpha" not in cfg["families"]:
        cfg["alpha_points"] = ()
    if args.tol is not None and args.tol < 0:
        args.tol = None
    return args, cfg


def main(argv=None):
    """Run the benchmark; return the result rows (also written as CSV, markdown and PNGs)."""
    import torch
    from joblib import Parallel

    args, cfg = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    clock, load, commit = time.perf_counter(), os.getloadavg(), _commit()  # before any wait

    def log(row):
        print(f"[{time.perf_counter() - clock:7.1f} s] {row['task']}: " + fmt_row(row), flush=True)

    rows, curves = [], []
    with Parallel(n_jobs=args.jobs, return_as="generator") as parallel:
        for task in args.tasks.split(","):
            task_rows, task_curves = run_task(task, cfg, args, parallel, log)
            rows += task_rows
            curves += task_curves
    total = time.perf_counter() - clock
    end_load = os.getloadavg()
    header = (
        f"## Classification benchmark ({cfg['mode']} mode), commit {commit}\n\n"
        f"`python benchmarks/classification.py {' '.join(argv or [])}`: {cfg['n_clouds']} "
        f"clouds per task of {cfg['n_points']:,} points, {cfg['repeats']} stratified 70/30 "
        f"splits; Flood tol {args.tol} x bbox diagonal; networks: {cfg['nn_points']} points, "
        f"PointNet width {cfg['width']} (<= {cfg['max_epochs']} epochs, patience "
        f"{cfg['patience']}), DGCNN width {cfg['dgcnn_width']}, k {cfg['dgcnn_k']} (<= "
        f"{cfg['dgcnn_max_epochs']} epochs, patience {cfg['dgcnn_patience']}), IMP "
        f"{cfg['imp_rounds']} rounds, soups {cfg['soup'][0]} rounds x {cfg['soup'][1]} "
        f"ingredients; families {','.join(cfg['families'])}; {args.jobs} worker "
        f"process(es) of 1 thread; Python "
        f"{platform.python_version()}, torch {torch.__version__}, {os.cpu_count()} CPUs "
        f"(shared; load average {load[0]:.2f} at the start, {end_load[0]:.2f} at the end); "
        f"total wall time {total:.0f} s."
    )
    _write_csv(args.out / "classification.csv", COLUMNS, rows)
    _write_csv(
        args.out / "curves.csv", ["task", "method", "split", "epoch", "train", "val"], curves
    )
    table = markdown(rows, header)
    (args.out / "classification.md").write_text(table + "\n")
    paths = plots(rows, curves, args.out)
    print("\n" + table)
    print("wrote", args.out / "classification.csv", *map(str, paths))
    return rows


def _write_csv(path, columns, rows):
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main(sys.argv[1:])
