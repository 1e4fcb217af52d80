"""The model-kind registry (training/kinds.py): every kind is one KindSpec, and what it says is what the
models do; no import circle among the training modules."""

from __future__ import annotations

import itertools
import subprocess
import sys

import grimp
import numpy as np
import pytest
import torch

from training.config import ConfigError, ModelConfig
from training.errors import UserError
from training.kinds import KIND_SPECS, KINDS, UnknownKind, kind_spec, resolve
from training.models import build_model
from training.numpy_decode import numpy_decoder, state_shapes


def tiny(kind: str) -> ModelConfig:
    return ModelConfig(kind=kind, channels=(4,), hidden=(8,), image_shape=(1, 8, 8), num_classes=3)


@pytest.mark.parametrize("kind", KINDS)
def test_each_spec_says_what_its_model_does(kind):
    spec = kind_spec(kind)
    model = build_model(tiny(kind)).eval()
    assert isinstance(model, resolve(spec.model))
    assert bool(getattr(model, "conditional", False)) == spec.conditional
    x = torch.rand(2, 1, 8, 8)
    y = torch.tensor([0, 2]) if spec.conditional else None
    _, logvar = model.encode(x, y)
    assert (logvar is not None) == spec.stochastic(model.config.beta)
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == state_shapes(model.config)
    weights = {k: v.numpy() for k, v in model.state_dict().items()}
    z = np.random.default_rng(0).standard_normal((3, 2)).astype(np.float32)
    with torch.no_grad():
        want = model.decode(torch.from_numpy(z)).numpy()
    np.testing.assert_allclose(numpy_decoder(model.config, weights)(z), want, atol=1e-5)
    assert (spec.closed_form is None) == bool(getattr(model, "phases", ()))  # gradient-trained kinds have phases
    if spec.closed_form is not None:
        assert callable(resolve(spec.closed_form))


def test_unknown_kind_is_one_sentence():
    with pytest.raises(UnknownKind, match=r"^unknown model kind 'gan' \(known: vae, ae, cvae, aae, pca\)$"):
        kind_spec("gan")
    assert issubclass(UnknownKind, UserError)
    with pytest.raises(ConfigError, match="unknown model kind 'gan'"):
        ModelConfig(kind="gan").validate()


def test_explorer_spread_follows_the_registry():
    from explorer.core.spread import DETERMINISTIC_KINDS

    assert set(DETERMINISTIC_KINDS) == {k for k, s in KIND_SPECS.items() if not s.beta_kl} == {"ae", "aae", "pca"}


def test_no_import_circle_in_training():
    """No module of training reaches, through its imports (function-level ones too), a module importing it."""
    graph = grimp.build_graph("training")
    circles = [(m, dep) for m in sorted(graph.modules) for dep in graph.find_modules_directly_imported_by(m)
               if dep.startswith("training") and graph.chain_exists(importer=dep, imported=m)]
    assert circles == []


@pytest.mark.parametrize("pair", list(itertools.permutations(["training.models", "training.aae", "training.pca"], 2)),
                         ids="-".join)
def test_modules_import_fresh_in_either_order(pair):
    code = "import importlib\n" + "".join(f"importlib.import_module({m!r})\n" for m in pair)
    code += "from training.kinds import KINDS\nfrom training.models import build_model, ModelConfig\n"
    code += "[build_model(ModelConfig(kind=k, num_classes=3)) for k in KINDS]\n"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_python_m_training_cli_help_lists_both_registries():
    """`python -m training.cli` is the command; its help is made from the kind and dataset tables."""
    from training.datasets import dataset_names

    done = subprocess.run([sys.executable, "-m", "training.cli", "--help"], capture_output=True, text=True,
                          timeout=120, check=True)
    text = "".join(done.stdout.split())  # argparse wraps lines (and breaks words at hyphens)
    assert all("".join(f"{name} ({spec.help})".split()) in text for name, spec in KIND_SPECS.items())
    assert ",".join(dataset_names()) in text and "folder:PATH" in text
    assert "Nintotal:a--resumerunaddsonlytheonesstillmissing" in text
