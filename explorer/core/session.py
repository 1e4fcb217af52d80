"""A session: one model, the dataset it shows, and the dataset's encoded means. Qt-free.

Everything here that touches torch runs on a background thread (the open worker); the GUI gets
numpy arrays only.

A session opened light (explorer/core/light_open.py: decoded with numpy while torch loads) has
``model`` None until :meth:`Session.finish_loading` sets ``ready``; code that needs the torch model
(the encoder: posterior spread, a drawing) waits with :meth:`Session.wait_model` on a worker thread,
or is queued by the model service.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from explorer.core import torch_gate
from explorer.core.decode_service import to_display
from explorer.core.encoding import (  # noqa: F401  (re-exported: the session's public names)
    Cancelled,
    SessionError,
    encode_batches,
    encode_means,
    unit_float,
)
from explorer.core.latent import NearestIndex
from explorer.core.means_cache import CHECK_IMAGES, MeansCache, cache_key, means_hold
from explorer.core.means_partial import encode_resumable
from explorer.core.values import path_problem
from training import verdict
from training.contract import LatentModel
from training.kinds import KIND_SPECS

ASSETS = Path(os.environ.get("LATENT_EXPLORER_ASSETS") or Path(__file__).resolve().parents[2] / "assets")
DEFAULT_MODEL = "fashion-mnist-vae.safetensors"
# bundled data shown with a bundled model: dataset name -> (data_dir under assets, split)
BUNDLED_DATA = {"fashion-mnist": ("fashion-mnist", "test"), "mnist-5k": (None, "all")}


def default_model_path() -> Path:
    return ASSETS / DEFAULT_MODEL


def _ready_event() -> threading.Event:
    done = threading.Event()
    done.set()  # a session made with its torch model (open_session) is ready at once
    return done


def file_sha256(path: str | os.PathLike) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


@dataclass(eq=False)  # compared by identity: it holds arrays and a model
class Session:
    model_path: Path
    # used on worker threads only (the model service and the open worker); None until ``ready`` is set
    # for a session opened light (open_light: decoded with numpy while torch loads)
    model: LatentModel | None
    metadata: dict[str, Any]
    config: dict[str, Any]
    dataset_name: str
    images: np.ndarray  # (N, C, H, W) uint8 0..255 if the data is 8-bit, else float32 in [0, 1]
    labels: np.ndarray  # (N,) int64
    label_names: list[str]
    sha256: str
    split: str = "test"
    means: np.ndarray | None = None  # (N, 2) float32 after encoding
    index: NearestIndex | None = field(default=None, repr=False)
    means_cached: bool = False  # the means came from the means cache, not from the encoder
    # (decode_fn, encode_fn) built by prepare() on the thread that loaded the model; the model service
    # runs them for requests that name this session (compared models, training snapshots)
    fns: tuple[Callable, Callable] | None = field(default=None, repr=False)
    manifold: Any = field(default=None, repr=False)  # explorer.core.manifold.Manifold while off_manifold is on
    logvars: np.ndarray | None = field(default=None, repr=False)  # (N, 2) posterior log-variances, once asked for
    snapshot: int | None = None  # the training snapshot this session shows (None: the final weights)
    snapshots: list[dict[str, Any]] = field(default_factory=list)  # the file's training snapshots, oldest first
    # the main session's training snapshots computed so far, by index (explorer.core.snapshots); the pane
    # and plane show snapshot_sessions[state.snapshot] (explorer.core.pane.shown_session)
    snapshot_sessions: dict[int, Session] = field(default_factory=dict, repr=False)
    # set once ``model`` (and the torch ``fns``) are in place, or once that failed (``load_error``)
    ready: threading.Event = field(default_factory=_ready_event, repr=False)
    light: Any = field(default=None, repr=False)  # the NumpyModel (training.numpy_decode) until then
    load_error: str | None = None  # why the torch model could not be loaded (a light session only)
    # latent.typical_point(means, labels), worked out on the open worker (0.1-0.3 s at 10 M points) for the
    # window's first point; None: not yet (the window works it out)
    typical: np.ndarray | None = field(default=None, repr=False)
    # framing.frame_box(means, labels) of a 2-D model's means, worked out on the open worker beside the typical
    # point (0.15-0.5 s at 10 M points, off the GUI thread); None: the window works it out
    frame: tuple[float, float, float, float] | None = field(default=None, repr=False)

    @property
    def conditional(self) -> bool:
        """A conditional model (CVAE): it encodes with the true labels and decodes with a chosen class."""
        if self.model is None:
            return bool(getattr(KIND_SPECS.get(self.config.get("kind")), "conditional", False))
        return bool(getattr(self.model, "conditional", False))

    def wait_model(self, cancel: threading.Event | None = None, poll: float = 0.1) -> LatentModel:
        """The torch model, waiting (on a worker thread, never the GUI's) until the open worker has
        loaded it. ``Cancelled`` once ``cancel`` is set; SessionError if it could not be loaded."""
        while not self.ready.wait(poll):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
        if self.model is None:
            raise SessionError(self.load_error or f"{self.model_path.name}: its model could not be loaded.")
        return self.model

    def finish_loading(self, threads: int | None = None, stop: threading.Event | None = None) -> Session:
        """Phase two of a light open (on the open worker's thread): import torch, build the model from
        the arrays phase one read and checked, prepare it (layout, traced decoders) and set ``ready``.

        ``fns`` becomes the torch pair. ``stop`` (the window closing): ``Cancelled`` before the slow
        steps. Any failure is kept in ``load_error`` (and raised); ``ready`` is set either way."""
        if self.ready.is_set():
            return self
        try:
            model = self._torch_model(threads, stop)
            if stop is not None and stop.is_set():
                raise Cancelled()
            from explorer.core.model_service import ModelService

            self.fns = ModelService.prepare(model)
            self.model = model
            self.light.weights = {}  # the model holds its own copy now (the numpy decoder keeps its own too)
        except Cancelled:
            self.load_error = f"{self.model_path.name}: opening was stopped before its encoder was loaded."
            raise
        except Exception as e:  # kept for whoever waits (wait_model), then raised
            self.load_error = f"{self.model_path.name}: its torch model could not be loaded ({e or type(e).__name__})."
            raise
        finally:
            self.ready.set()
        return self

    def _torch_model(self, threads: int | None, stop: threading.Event | None = None) -> LatentModel:
        """The torch model of a light session, from the arrays already read (the file is not read again)."""
        if stop is not None and stop.is_set():
            raise Cancelled()
        torch = torch_gate.import_torch()  # published to the decode workers only once complete
        if threads is not None:
            torch.set_num_threads(threads)
        from training.checkpoint import from_weights

        light = self.light
        return from_weights(light.config, light.weights, light.metadata)

    @property
    def kind_words(self) -> str:
        """The model's kind in a few words: "vae, β = 10", "cvae", "pca" ..."""
        c = self.config
        kind = c.get("kind", "?")
        beta = f", \u03b2 = {c['beta']:g}" if kind == "vae" and "beta" in c else ""
        return f"{kind}{beta}"

    @property
    def title(self) -> str:
        """Short words for a plane's title: file name, kind and beta (and the snapshot shown)."""
        snap = f", snapshot {self.snapshot + 1}/{len(self.snapshots)}" if self.snapshot is not None else ""
        return f"{self.model_path.name} ({self.kind_words}{snap})"

    def prepare(self) -> Session:
        """Lay the model out and build its decode / encode functions (on the loading thread, never the GUI's)."""
        from explorer.core.model_service import ModelService

        if self.fns is None:
            self.fns = ModelService.prepare(self.model)
        return self

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.config["image_shape"])  # type: ignore[return-value]

    @property
    def colour(self) -> bool:
        return self.image_shape[0] == 3

    def display_image(self, i: int) -> np.ndarray:
        """Dataset image i, row-major (H, W) or (H, W, 3), float32 in [0, 1]."""
        return to_display(unit_float(self.images[i : i + 1]))[0]

    def label_name(self, i: int) -> str:
        y = int(self.labels[i])
        return self.label_names[y] if 0 <= y < len(self.label_names) else str(y)

    def info(self) -> list[tuple[str, str]]:
        """Rows for the info panel: kind, beta, dataset, test ELBO..."""
        c, m, d = self.config, self.metadata.get("metrics", {}), self.metadata.get("dataset", {})

        def num(key: str, fmt: str = "{:.2f}") -> str:
            v = m.get(key)
            return fmt.format(v) if isinstance(v, (int, float)) else "-"

        head = [("file", self.model_path.name), ("latent space", f"{c.get('latent_dim', 2)}-D")]
        if c.get("kind") == "own":  # a user's torch module (explorer.core.own_model)
            return [*head, ("kind", f"your module {c.get('source', '')}"),
                    ("posterior", "mean and log-variance" if c.get("stochastic") else "mean only"),
                    ("shown", f"{self.dataset_name} ({len(self.labels):,} images)"), ("sha256", self.sha256)]
        return [
            *head,
            ("kind", f"{c['kind']} ({c['arch']})"),
            ("beta", f"{c['beta']:g}"),
            ("likelihood", c["likelihood"]),
            ("image", "x".join(str(v) for v in c["image_shape"][1:]) + (" colour" if c["image_shape"][0] == 3 else " grey")),
            ("trained on", str(d.get("name", "?"))),
            ("shown", f"{self.dataset_name} ({len(self.labels):,} images)"),
            ("epochs", num("epochs", "{}") + (f", {m['steps']} steps" if isinstance(m.get("steps"), int) else "")),
            ("test -ELBO", num("test_neg_elbo") + " nats"),
            ("reconstruction", num("test_recon")),
            ("KL", num("test_kl")),
            ("5-NN accuracy", num("test_knn5_acc", "{:.3f}") + self._pca_words()),
            ("active units", num("test_active_units", "{}") + f" of {c.get('latent_dim', 2)}"),
            ("sha256", self.sha256),
        ]

    def _pca_words(self) -> str:
        pca = (self.metadata.get("verdict") or {}).get("pca_knn5_acc")
        return f" (2-D PCA: {pca:.3f})" if isinstance(pca, (int, float)) else ""

    @property
    def warning(self) -> str | None:
        """The one-line warning of a model that is not useful (its posterior collapsed, its plane is a line),
        as ``latent-train`` judged it when training ended (training/verdict.py); None for a good model."""
        if self.config.get("kind") == "own":
            return None
        return verdict.warning_of(self.metadata, self.config)


def load_model(path: str | os.PathLike, snapshot: int | None = None) -> LatentModel:
    """Validated load (never runs code from the file); SessionError with the loader's sentence.

    ``snapshot``: training snapshot k's weights instead of the final ones."""
    from training.checkpoint import load

    model = checked_read(path, lambda: load(path, snapshot=snapshot))
    if not isinstance(model, LatentModel):
        raise SessionError(f"{path}: its model does not offer encode / decode / config (the model contract).")
    return model


def checked_read(path: str | os.PathLike, read: Callable[[], Any]) -> Any:
    """``read()``, its CheckpointError as a SessionError (naming what the file is, if not a model)."""
    from training.checkpoint_read import CheckpointError
    from training.sniff import describe

    problem = path_problem(path)
    if problem:
        raise SessionError(problem)
    try:
        return read()
    except CheckpointError as e:
        what = describe(path)  # a PNG, a zip, a pickle, ...: say so instead of the parser's complaint
        raise SessionError(f"{path}: is not a latent-explorer model (this is {what})." if what else str(e)) from None


def load_data_for(model: Any, dataset: str | None = None, split: str | None = None, data_dir: str | None = None,
                  progress: Callable[[str, int, int], None] | None = None, cancel: threading.Event | None = None):
    """The dataset to show: the one named, else the one the model was trained on (bundled if possible).

    A dataset that is not on this machine is downloaded (checked against its pinned SHA-256), with
    ``progress("downloading", bytes, total)``; setting ``cancel`` stops the download (``Cancelled``)."""
    from training.data import DatasetError, load_dataset

    trained_on = model.metadata.get("dataset", {}).get("name")
    name = dataset or trained_on or "synthetic"
    if data_dir is None and name in BUNDLED_DATA and dataset is None:
        sub, bundled_split = BUNDLED_DATA[name]
        if sub is not None and (ASSETS / sub).is_dir():
            data_dir = str(ASSETS / sub)
        split = split or bundled_split
    c, h, w = model.config.image_shape
    try:
        ds = load_dataset(name, split or "test", data_dir=data_dir, image_size=h if h == w else None,
                          grayscale=(c == 1), download=True, progress=_download_progress(progress, cancel),
                          uint8=True)  # a quarter of float32's memory; floats only per encoded batch
    except DatasetError as e:
        raise SessionError(str(e)) from None
    if tuple(ds.image_shape) != tuple(model.config.image_shape):
        raise SessionError(
            f"dataset {name} has images of shape {tuple(ds.image_shape)}, but the model expects {tuple(model.config.image_shape)}."
        )
    return ds


def _download_progress(progress, cancel):
    def report(done: int, total: int | None) -> None:
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        if progress is not None:
            progress("downloading", done, total or 0)

    return report


def open_session(
    path: str | os.PathLike,
    dataset: str | None = None,
    split: str | None = None,
    data_dir: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    cancel: threading.Event | None = None,
    batch_size: int = 2000,
    threads: int | None = None,
    cache: MeansCache | None = None,
    like: Session | None = None,
    snapshot: int | None = None,
    sha256: str | None = None,
    prepare: bool = False,
    model: LatentModel | None = None,
    encode: bool = True,
) -> Session:
    """Load model and data, encode the means (or take them from the means cache). Runs on a
    background thread; reports progress.

    ``threads``: OpenMP threads for this (the calling) thread's torch work. ``cache``: where encoded
    means are looked up and stored (default: the per-user cache folder, then the bundled means in
    assets/means; explorer.core.means_cache). ``like``: show this session's dataset (the same arrays,
    not a second copy): a model compared side by side with it. ``snapshot``: the file's training
    snapshot k instead of its final weights (``sha256``: the file's, when the caller knows it).
    ``prepare``: also build the decode / encode functions (:meth:`Session.prepare`) on this thread.
    ``model``: the file's model (or snapshot ``snapshot``'s), already loaded and checked by the caller
    (explorer.core.snapshots loads every snapshot in one pass). ``encode=False``: load and check only; the
    means are left None for :func:`explorer.core.means_job.means_job` (the model service's bulk lane)."""
    path = Path(path)
    torch = torch_gate.import_torch()  # on this (the open worker's) thread; workers see it once complete
    if threads is not None:
        torch.set_num_threads(threads)
    say = progress or (lambda stage, done, total: None)
    say("loading model", 0, 1)
    model = model if model is not None else load_model(path, snapshot)
    if like is not None:
        if tuple(model.config.image_shape) != tuple(like.image_shape):
            raise SessionError(f"{path}: takes images of shape {tuple(model.config.image_shape)}, but the dataset "
                               f"shown ({like.dataset_name}) has {tuple(like.image_shape)}; it cannot be compared.")
        ds = like
        name, split_, names = like.dataset_name, like.split, list(like.label_names)
    else:
        say("loading data", 0, 1)
        ds = load_data_for(model, dataset, split, data_dir, progress=say, cancel=cancel)
        name, split_, names = ds.name, ds.split, list(ds.label_names)
    s = Session(path, model, model.metadata, model.config.to_dict(), name, ds.images, ds.labels,
                names, sha256 or file_sha256(path), split=split_, snapshot=snapshot,
                snapshots=list(model.metadata.get("snapshots") or []))
    if encode:
        cache, key = look_up_means(s, cache)
        encode_missing_means(s, model, cache, key, say, cancel, batch_size)
    return s.prepare() if prepare else s


def look_up_means(s: Session, cache: MeansCache | None) -> tuple[MeansCache, str]:
    """``s.means`` from the means cache (None if not there); returns the cache and the key to store under:
    the model file (and snapshot), dataset, split, pixels and labels. ``cache`` None: the per-user cache
    folder, then the bundled means in assets/means."""
    cache = cache if cache is not None else MeansCache(bundled=ASSETS / "means")
    model_id = s.sha256 if s.snapshot is None else f"{s.sha256}-snapshot{s.snapshot}"
    key = cache_key(model_id, s.dataset_name, s.split, s.images, s.labels)
    s.means = cache.load(key, len(s.labels), int(s.config.get("latent_dim", 2)))
    s.means_cached = s.means is not None
    return cache, key


def encode_missing_means(s: Session, model: Any, cache: MeansCache, key: str,
                         say: Callable[[str, int, int], None], cancel: threading.Event | None,
                         batch_size: int) -> None:
    """Encode ``s.means`` with ``model`` if the cache had none, or held means the model does not make
    (:func:`cached_means_hold`), and store them; then build the nearest index."""
    if s.means is not None and not cached_means_hold(s, model):
        s.means, s.means_cached = None, False  # encoded again below, and the cached file rewritten
    if s.means is None:
        s.means = encode_resumable(s, model, cache, key, lambda d, t: say("encoding", d, t), cancel, batch_size)
    s.index = NearestIndex(s.means, s.labels)



def cached_means_hold(s: Session, model: Any, k: int = CHECK_IMAGES) -> bool:
    """False if ``s.means`` came from the cache and ``model`` encodes a few images to other points
    (explorer.core.means_cache.means_hold)."""
    if not s.means_cached or s.means is None:
        return True
    try:
        return means_hold(s.means, lambda idx: encode_means(model, s.images[idx], labels=s.labels[idx]), k)
    except SessionError:
        return False  # the full encode says why
