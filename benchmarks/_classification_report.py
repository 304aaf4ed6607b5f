"""Tables and plots of benchmarks/classification.py (rows in, markdown and PNGs out)."""

#: Pruning methods of flood.sparse_nn run by the benchmark, with their table names.
PRUNING = {
    "magnitude": "one-shot magnitude",
    "gradual": "gradual magnitude",
    "random": "random (uniform)",
    "erk": "random (ERK)",
    "nm": "N:M (m=16)",
    "imp": "IMP (rewinding)",
    "soup": "sparse model soup",
}
COLUMNS = [
    "task", "family", "method", "setting", "points_used", "sparsity", "achieved_sparsity",
    "metric", "mean", "std", "mae_mean", "mae_std", "train_accuracy", "val_accuracy", "epochs",
    "cpu_s_per_cloud", "n_train", "n_test",
]  # fmt: skip
COLOURS = {"Flood PH": "C0", "Alpha PH": "C1", "PointNet": "C2", "DGCNN": "C3"}


def fmt_row(row):
    """One markdown table line of a result row."""
    score = f"{row['mean']:.3f} ± {row['std']:.3f}"
    if row["mae_mean"] != "":
        score += f" (MAE {row['mae_mean']:.3f} ± {row['mae_std']:.3f})"
    sparsity = ""
    if row["sparsity"] not in ("", 0.0):
        sparsity = f"{row['sparsity']:.2f} ({row['achieved_sparsity']:.3f})"
    fit = ""
    if row["train_accuracy"] != "":
        fit = f"{row['train_accuracy']:.2f} / {row['val_accuracy']:.2f}"
    epochs = "" if row["epochs"] == "" else f"{row['epochs']:.0f}"
    return (
        f"| {row['method']} | {row['setting']} | {row['points_used']:,} | {sparsity} | "
        f"{score} | {fit} | {epochs} | {row['cpu_s_per_cloud']:.3g} |"
    )


def groups(rows):
    """Rows by (task, metric), in order of appearance."""
    out = {}
    for row in rows:
        out.setdefault((row["task"], row["metric"]), []).append(row)
    return out


def markdown(rows, header):
    lines = [header, ""]
    for (task, metric), group in groups(rows).items():
        lines += [
            f"### {task.replace('_', ' ')}: {metric} ({group[0]['n_train']} train / "
            f"{group[0]['n_test']} test clouds per split)",
            "",
            f"| method | setting | points used | sparsity (achieved) | {metric} (mean ± std) | "
            "train / val accuracy (kept epoch) | epochs run | CPU s per cloud |",
            "|---|---|---|---|---|---|---|---|",
            *map(fmt_row, group),
            "",
        ]
    return "\n".join(lines)


def _axes(plt, n):
    fig, axes = plt.subplots(1, n, figsize=(6.5 * n, 4.8), squeeze=False)
    return fig, axes[0]


def _points_or_time(ax, group, key):
    for r in group:
        if r["family"].endswith("PH") or r["sparsity"] in ("", 0.0) or key == "cpu_s_per_cloud":
            ax.errorbar(r[key], r["mean"], r["std"], marker="o" if r["sparsity"] in ("", 0.0)
                        else ".", capsize=3, color=COLOURS[r["family"]], alpha=0.8)  # fmt: skip
            label = r["setting"] if r["family"].endswith("PH") else r["method"]
            if r["sparsity"] in ("", 0.0):
                ax.annotate(label, (r[key], r["mean"]), fontsize=6, xytext=(3, 3),
                            textcoords="offset points")  # fmt: skip
    for family, colour in COLOURS.items():
        ax.plot([], [], "o", color=colour, label=family)
    ax.set_xscale("log")


def _sparsity(ax, group):
    dense = [r for r in group if r["method"] == "PointNet dense"]
    for k, label in enumerate(PRUNING.values()):
        pts = [r for r in group if r["method"] == f"PointNet {label}"]
        if pts:
            pts = dense + sorted(pts, key=lambda r: r["achieved_sparsity"])
            ax.errorbar([r["achieved_sparsity"] or 0.0 for r in pts], [r["mean"] for r in pts],
                        [r["std"] for r in pts], marker="o", capsize=3, color=f"C{k + 2}",
                        label=f"PointNet {label}", alpha=0.85)  # fmt: skip
    for family, ls in (("Flood PH", "--"), ("Alpha PH", ":"), ("DGCNN", "-.")):
        members = [r for r in group if r["family"] == family]
        if members:
            best = max(members, key=lambda r: r["mean"])
            ax.axhline(best["mean"], ls=ls, color=COLOURS[family],
                       label=f"best {family} ({best['setting']})")  # fmt: skip


def _curves(ax, curves, task):
    styles = {"PointNet dense": "C2", "DGCNN dense": "C3"}
    for method, colour in styles.items():
        mine = [c for c in curves if c["task"] == task and c["method"] == method]
        for split in sorted({c["split"] for c in mine}):
            run = [c for c in mine if c["split"] == split]
            epochs = [c["epoch"] for c in run]
            first = split == 0
            ax.plot(epochs, [c["val"] for c in run], color=colour, lw=1.2, alpha=0.8,
                    label=f"{method}: validation" if first else None)  # fmt: skip
            label = f"{method}: training (augmented)" if first else None
            ax.plot(epochs, [c["train"] for c in run], color=colour, lw=0.8, ls="--",
                    alpha=0.6, label=label)  # fmt: skip
    ax.set_xlabel("epoch (one line per split, until early stopping)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0.0, 1.05)


def plots(rows, curves, out):
    """Four PNGs: accuracy vs points used, vs sparsity, vs CPU time; training curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    accuracy = {k: g for k, g in groups(rows).items() if k[1] == "accuracy"}
    paths = []
    specs = (
        ("accuracy_vs_points", "points per cloud used (log)"),
        ("accuracy_vs_sparsity", "achieved sparsity of the pruned PointNet"),
        ("accuracy_vs_time", "CPU seconds per cloud, one thread (log)"),
        ("training_curves", None),
    )
    for name, x_label in specs:
        fig, axes = _axes(plt, len(accuracy))
        for ax, ((task, _), group) in zip(axes, accuracy.items()):
            if name == "accuracy_vs_sparsity":
                _sparsity(ax, group)
            elif name == "training_curves":
                _curves(ax, curves, task)
            else:
                key = "points_used" if name == "accuracy_vs_points" else "cpu_s_per_cloud"
                _points_or_time(ax, group, key)
            if x_label:
                ax.set_xlabel(x_label)
                ax.set_ylabel("test accuracy (mean ± std over splits)")
            ax.set_title(task.replace("_", " "))
            ax.legend(fontsize=7, loc="lower left")
        fig.tight_layout()
        path = out / f"{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths
