"""SparsePointCloudClassifier: a scikit-learn classifier of point clouds by a pruned network."""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from flood.sparse_nn._data import (
    POOL_FACTOR,
    augment_clouds,
    check_clouds,
    normalize_clouds,
    stratified_split,
)
from flood.sparse_nn._models import DGCNN, KNNNet, PointNet
from flood.sparse_nn._nm import to_semi_structured
from flood.sparse_nn._pruning import SCOPES
from flood.sparse_nn._report import sparsity_report
from flood.sparse_nn._soups import train_soup
from flood.sparse_nn._training import (
    LR_SCHEDULES,
    MONITORS,
    PRUNING_PARAMS,
    RunConfig,
    predict_logits,
    train_pruned,
)

__all__ = ["SparsePointCloudClassifier"]


class SparsePointCloudClassifier(ClassifierMixin, BaseEstimator):
    """Classify point clouds with a pruned PointNet, DGCNN or k-NN network.

    Every cloud is resampled to ``n_points`` points (with replacement if it has fewer),
    centred and scaled into the unit ball, then fed to the network; training uses Adam with a
    constant or cosine learning rate, class-weighted ("balanced") cross-entropy, optional
    augmentation and early stopping, and keeps the weights of the best validation epoch among
    those at the target sparsity. Everything random (initialisation, masks,
    resampling, split, batch order) derives from ``random_state`` through local generators:
    on the CPU the same ``random_state`` gives the same model and predictions, and torch's
    global random state is never touched.

    Parameters
    ----------
    architecture : {"pointnet", "dgcnn", "knn"}, default="pointnet"
        :class:`~flood.sparse_nn.PointNet`, :class:`~flood.sparse_nn.DGCNN` or
        :class:`~flood.sparse_nn.KNNNet`.
    pruning : {None, "magnitude", "gradual", "random", "erk", "nm", "imp", "soup"}, \
default=None
        ``"magnitude"``: one-shot magnitude pruning at epoch ``prune_epoch`` (default
        ``epochs // 2``), then fine-tuning, with the cosine learning rate restarted at the
        prune. ``"gradual"``: Zhu & Gupta's cubic schedule from ``begin`` to ``end``
        (fractions of training, default 0.1 and 0.6: the last 40 % fine-tunes at the final
        sparsity). ``"random"`` /
        ``"erk"``: random masks at initialisation, uniform or ERK layer densities. ``"nm"``:
        N:M sparsity with ``n = m * (1 - sparsity)``, ``m`` default 4, trained by SR-STE.
        ``"imp"``: iterative magnitude pruning in ``rounds`` rounds (default 3) with rewinding
        to the weights after ``rewind_epoch`` epochs (default 1); it trains ``rounds + 1``
        times ``epochs`` epochs. ``"soup"``: sparse model soups (Zimmer et al. 2024): a dense
        run, then ``rounds`` cycles (default 3) that each prune by magnitude, retrain
        ``ingredients`` copies (default 3) sharing that mask and average them
        (:func:`~flood.sparse_nn._soups.train_soup`); ``1 + rounds * ingredients`` runs.
    sparsity : float in [0, 1), default=0.5
        Target fraction of zero weights over the Linear/Conv layers; ignored without pruning.
    n_points : int, default=1024
        Points per resampled cloud.
    width : int, default=32
        Base layer width of the network (64 gives the published sizes).
    n_neighbors : int, default=16
        Neighbours per point for ``"dgcnn"`` and ``"knn"``.
    input_transform : bool, default=False
        Give ``"pointnet"`` its T-Net input transform.
    epochs : int, default=20
        Training epochs (per round for ``"imp"``).
    batch_size : int, default=32
        Clouds per optimizer step.
    learning_rate : float, default=1e-3
        Adam learning rate (at the start of each run).
    lr_schedule : {"cosine", "constant"}, default="cosine"
        ``"cosine"``: annealed to 0 over each run's ``epochs`` (stepped per epoch); with
        ``pruning="magnitude"`` the epochs before and after the prune each get their own
        cosine (:func:`~flood.sparse_nn._training.cosine_factor`), so fine-tuning starts
        at ``learning_rate``.
    patience : int or None, default=None
        Stop a run once this many epochs in a row (among those at the target sparsity) have
        not improved the validation score; None trains every epoch. Needs a validation split.
    monitor : {"accuracy", "loss"}, default="accuracy"
        Validation score that picks the kept epoch and drives ``patience``: accuracy (ties
        broken by loss) or the loss alone, which is smoother on a few validation clouds.
    augment : bool, default=False
        Keep ``4 * n_points`` points per training cloud and feed each epoch a fresh random
        ``n_points`` of them, rotated about z, scaled and jittered
        (:func:`~flood.sparse_nn._data.augment_clouds`).
    weight_decay : float, default=0.0
        Adam (L2) weight decay.
    validation_fraction : float in [0, 1), default=0.1
        Share of each class held out to pick the best epoch; 0 keeps the last epoch.
    pruning_params : dict, default=None
        Options of the pruning method (keys above, plus ``"scope"`` for the magnitude
        methods: ``"lamp"`` (default) ranks weights across layers by LAMP scores,
        ``"global"`` by raw magnitude, which can empty a whole layer at high sparsity,
        ``"layer"`` prunes every layer alike (:func:`~flood.sparse_nn.magnitude_prune`);
        ``"n_pruning_steps"`` for ``"gradual"``, ``"srste_lambda"`` for ``"nm"``).
    semi_structured : bool, default=False
        After training with 2:4 ``"nm"`` pruning on CUDA, run the eligible Linear layers with
        :func:`torch.sparse.to_sparse_semi_structured` kernels in float16
        (:class:`~flood.sparse_nn.SemiStructuredLinear`). CPU: masked dense path only; asking
        for it there raises a ValueError.
    device : {"cpu", "cuda"}, default="cpu"
        Where to train and predict.
    random_state : int, RandomState instance or None, default=None
        Seed of everything random; pass an int for reproducible results.
    verbose : bool, default=False
        Show a tqdm progress bar over epochs.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    model_ : torch.nn.Module
        The trained (pruned) network, in eval mode.
    history_ : list of dict
        Per epoch: epoch, round, loss, accuracy, val_loss, val_accuracy (NaN without a
        validation split), sparsity, time (seconds) and soup (True on the rows of averaged
        models of ``pruning="soup"``, evaluated after each cycle).
    best_epoch_ : int
        Index into ``history_`` of the kept weights.
    sparsity_report_ : SparsityReport
        Per-layer and global sparsity of ``model_``.
    semi_structured_layers_ : list of str
        Layers converted to semi-structured sparse kernels (empty unless requested).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> spheres = [rng.normal(size=(80, 3)) for _ in range(12)]
    >>> spheres = [s / np.linalg.norm(s, axis=1, keepdims=True) for s in spheres]
    >>> cubes = [rng.uniform(-1, 1, size=(80, 3)) for _ in range(12)]
    >>> clf = SparsePointCloudClassifier(
    ...     pruning="magnitude", sparsity=0.5, n_points=64, width=4, epochs=3,
    ...     validation_fraction=0.0, random_state=0,
    ... ).fit(spheres + cubes, [0] * 12 + [1] * 12)
    >>> clf.predict_proba(cubes[:2]).shape, round(clf.sparsity_report_.sparsity, 3)
    ((2, 2), 0.5)
    """

    _parameter_constraints: dict = {
        "architecture": [StrOptions({"pointnet", "dgcnn", "knn"})],
        "pruning": [None, StrOptions({k for k in PRUNING_PARAMS if k is not None})],
        "sparsity": [Interval(Real, 0, 1, closed="left")],
        "n_points": [Interval(Integral, 1, None, closed="left")],
        "width": [Interval(Integral, 1, None, closed="left")],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "input_transform": ["boolean"],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 2, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "lr_schedule": [StrOptions(set(LR_SCHEDULES))],
        "patience": [None, Interval(Integral, 1, None, closed="left")],
        "monitor": [StrOptions(set(MONITORS))],
        "augment": ["boolean"],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "pruning_params": [None, dict],
        "semi_structured": ["boolean"],
        "device": [StrOptions({"cpu", "cuda"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        architecture="pointnet",
        pruning=None,
        sparsity=0.5,
        n_points=1024,
        width=32,
        n_neighbors=16,
        input_transform=False,
        epochs=20,
        batch_size=32,
        learning_rate=1e-3,
        lr_schedule="cosine",
        patience=None,
        monitor="accuracy",
        augment=False,
        weight_decay=0.0,
        validation_fraction=0.1,
        pruning_params=None,
        semi_structured=False,
        device="cpu",
        random_state=None,
        verbose=False,
    ):
        self.architecture = architecture
        self.pruning = pruning
        self.sparsity = sparsity
        self.n_points = n_points
        self.width = width
        self.n_neighbors = n_neighbors
        self.input_transform = input_transform
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.patience = patience
        self.monitor = monitor
        self.augment = augment
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.pruning_params = pruning_params
        self.semi_structured = semi_structured
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _fail(self, parameter: str, rule: str, value) -> ValueError:
        return ValueError(
            f"The {parameter!r} parameter of {type(self).__name__} {rule}. Got {value!r} instead."
        )

    def _check_options(self) -> dict:
        """Cross-parameter checks; returns the pruning options with defaults filled in."""
        defaults = PRUNING_PARAMS[self.pruning]
        given = dict(self.pruning_params or {})
        unknown = sorted(set(given) - set(defaults))
        if unknown:
            raise self._fail(
                "pruning_params",
                f"takes the keys {sorted(defaults)} for pruning={self.pruning!r}",
                given,
            )
        options = {**defaults, **given}
        if options.get("scope", SCOPES[0]) not in SCOPES:
            raise self._fail("pruning_params", f"needs 'scope' in {set(SCOPES)}", given)
        if self.pruning == "magnitude":
            if options["prune_epoch"] is None:
                options["prune_epoch"] = self.epochs // 2
            epoch = options["prune_epoch"]
            if not (isinstance(epoch, Integral) and 0 <= epoch < self.epochs):
                rule = "needs an int 0 <= 'prune_epoch' < epochs"
                raise self._fail("pruning_params", rule, given)
        if self.pruning == "gradual" and not 0 <= options["begin"] < options["end"] <= 1:
            raise self._fail("pruning_params", "needs 0 <= 'begin' < 'end' <= 1", given)
        if self.pruning == "soup":
            for key in ("rounds", "ingredients"):
                if not (isinstance(options[key], Integral) and options[key] >= 1):
                    raise self._fail("pruning_params", f"needs an int {key!r} >= 1", given)
        if self.patience is not None and self.validation_fraction == 0:
            raise self._fail(
                "patience", "needs a validation split (validation_fraction > 0)", self.patience
            )
        if self.pruning == "imp":
            if options["rewind_epoch"] is None:
                options["rewind_epoch"] = min(1, self.epochs - 1)
            if not (isinstance(options["rounds"], Integral) and options["rounds"] >= 1):
                raise self._fail("pruning_params", "needs an int 'rounds' >= 1", given)
            epoch = options["rewind_epoch"]
            if not (isinstance(epoch, Integral) and 0 <= epoch <= self.epochs):
                rule = "needs an int 0 <= 'rewind_epoch' <= epochs"
                raise self._fail("pruning_params", rule, given)
        if self.pruning == "nm":
            kept = options["m"] * (1.0 - self.sparsity)
            if not (abs(kept - round(kept)) < 1e-9 and 1 <= round(kept) < options["m"]):
                raise self._fail(
                    "sparsity",
                    f"must make m * (1 - sparsity) an integer in [1, m) for pruning='nm' "
                    f"(m={options['m']})",
                    self.sparsity,
                )
        if self.device == "cuda" and not torch.cuda.is_available():
            raise self._fail("device", "is 'cuda' but no CUDA device is available", self.device)
        if self.semi_structured:
            if self.device != "cuda":
                raise self._fail(
                    "semi_structured",
                    "needs device='cuda' (semi-structured sparse kernels are CUDA-only; the "
                    "CPU uses the masked dense path with semi_structured=False)",
                    self.semi_structured,
                )
            if self.pruning != "nm" or options["m"] != 4 or self.sparsity != 0.5:
                raise self._fail(
                    "semi_structured", "needs pruning='nm' with 2:4 sparsity", self.semi_structured
                )
        return options

    def _pool_size(self) -> int:
        """Points kept per cloud: a pool to resample from with augmentation."""
        return self.n_points * (POOL_FACTOR if self.augment else 1)

    def _build_model(self, n_classes: int, generator: torch.Generator) -> torch.nn.Module:
        if self.architecture == "pointnet":
            return PointNet(
                n_classes,
                width=self.width,
                input_transform=self.input_transform,
                generator=generator,
            )
        if self.architecture == "dgcnn":
            return DGCNN(n_classes, k=self.n_neighbors, width=self.width, generator=generator)
        return KNNNet(n_classes, k=self.n_neighbors, width=self.width, generator=generator)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the network on labelled point clouds.

        Parameters
        ----------
        X : list of array-like of shape (n_i, 3), or array-like of shape (n_clouds, n_i, 3)
            Training clouds; sizes may differ.
        y : array-like of shape (n_clouds,)
            Class labels, at least two classes.

        Returns
        -------
        self : SparsePointCloudClassifier
            The fitted classifier.
        """
        options = self._check_options()
        clouds = check_clouds(X)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(clouds):
            raise ValueError(
                f"y has shape {y.shape}; expected ({len(clouds)},), one label per cloud in X."
            )
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"y needs at least 2 classes. Got {list(self.classes_)} only.")
        rng = check_random_state(self.random_state)
        seeds = [int(s) for s in rng.randint(0, 2**31 - 1, size=4)]
        self._predict_seed = seeds[3]
        points = normalize_clouds(clouds, self._pool_size(), np.random.default_rng(seeds[0]))
        train, val = stratified_split(
            encoded, self.validation_fraction, np.random.default_rng(seeds[1])
        )
        if len(train) < 2:
            raise ValueError(f"fit needs at least 2 training clouds. Got {len(train)}.")
        if self.patience is not None and not len(val):
            raise self._fail(
                "patience",
                f"needs validation clouds, but validation_fraction={self.validation_fraction} "
                f"of the smallest class ({int(np.bincount(encoded).min())} clouds) holds out none",
                self.patience,
            )
        device = torch.device(self.device)
        generator = torch.Generator().manual_seed(seeds[2])
        model = self._build_model(len(self.classes_), generator).to(device)
        X_t = torch.from_numpy(points).to(device)
        y_t = torch.from_numpy(encoded.astype(np.int64)).to(device)
        counts = np.bincount(encoded[train], minlength=len(self.classes_))
        weight = len(train) / (len(self.classes_) * np.maximum(counts, 1))
        runs = 1  # training runs, for the progress bar
        if self.pruning == "imp":
            runs += options["rounds"]
        elif self.pruning == "soup":
            runs += options["rounds"] * options["ingredients"]
        n = self.n_points
        with tqdm(total=self.epochs * runs, disable=not self.verbose) as progress:
            cfg = RunConfig(
                X_t[train],
                y_t[train],
                (X_t[val][:, :n], y_t[val]) if len(val) else None,
                epochs=self.epochs,
                batch_size=self.batch_size,
                learning_rate=self.learning_rate,
                weight_decay=self.weight_decay,
                class_weight=torch.tensor(weight, dtype=torch.float32, device=device),
                generator=generator,
                augment=(lambda b, g: augment_clouds(b, n, g)) if self.augment else None,
                view=X_t[train][:, :n],
                lr_schedule=self.lr_schedule,
                patience=self.patience,
                monitor=self.monitor,
                progress=progress,
            )
            if self.pruning == "soup":
                fitted = train_soup(model, cfg, sparsity=self.sparsity, options=options)
            else:
                fitted = train_pruned(
                    model, cfg, pruning=self.pruning, sparsity=self.sparsity, options=options
                )
            self.history_, self.best_epoch_ = fitted
        model.eval()
        self.semi_structured_layers_ = to_semi_structured(model) if self.semi_structured else []
        self.model_ = model
        self.sparsity_report_ = sparsity_report(model)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities of point clouds.

        Parameters
        ----------
        X : list of array-like of shape (n_i, 3), or array-like of shape (n_clouds, n_i, 3)
            Clouds to classify, resampled as in :meth:`fit` from a seed fixed at fit time.

        Returns
        -------
        ndarray of shape (n_clouds, n_classes)
            Probabilities, columns in the order of ``classes_``.
        """
        check_is_fitted(self, "model_")
        points = normalize_clouds(
            check_clouds(X), self._pool_size(), np.random.default_rng(self._predict_seed)
        )[:, : self.n_points]
        logits = predict_logits(
            self.model_, torch.from_numpy(points).to(self.device), self.batch_size
        )
        return torch.softmax(logits.double(), dim=1).cpu().numpy()

    def predict(self, X) -> np.ndarray:
        """Predicted class labels, shape (n_clouds,), for clouds as in :meth:`predict_proba`."""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags
