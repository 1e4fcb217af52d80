"""The model family: every kind trains a few steps on `synthetic`, round-trips a checkpoint, and has
its defining property (tied weights shared, denoising target clean, CVAE output changes with y,
AAE phases touch disjoint weights, PCA equals numpy's SVD)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from training import checkpoint, losses
from training.data import load_dataset
from training.models import ConfigError, LatentModel, ModelConfig, build_model
from training.train import TrainConfig, TrainError, fit

TINY = {"channels": (4, 8), "hidden": (8,), "num_classes": 10}
NEURAL = {
    "ae": {"kind": "ae"},
    "vae": {"kind": "vae", "beta": 2.0},
    "cvae": {"kind": "cvae"},
    "cvae-label-every": {"kind": "cvae", "decoder_label": "every", "hidden": (8, 8)},
    "aae": {"kind": "aae", "disc_hidden": (8,)},
    "ae-denoise": {"kind": "ae", "denoise": 0.3},
    "vae-dropout": {"kind": "vae", "dropout": 0.3},
    "ae-mlp-tied": {"kind": "ae", "arch": "mlp", "hidden": (16,), "tied": True},
    "vae-mlp-tied": {"kind": "vae", "arch": "mlp", "hidden": (16, 8), "tied": True},
}


@pytest.fixture(scope="module")
def data():
    ds = load_dataset("synthetic", "train")
    return torch.from_numpy(ds.images[:256]), torch.from_numpy(ds.labels[:256])


def tiny(**kw) -> ModelConfig:
    return ModelConfig(**{**TINY, **kw})


def train_a_few_steps(model, data, **tc):
    x, y = data
    return fit(model, x, TrainConfig(**{"epochs": 1, "batch_size": 64, "workers": 1, "schedule": "constant", **tc}),
               train_y=y, progress=False)


def outputs(model, x, y):
    with torch.inference_mode():
        mean, logvar = model.encode(x, y)
        return mean, logvar, model.decode(mean, y)


@pytest.mark.parametrize("name", sorted(NEURAL))
def test_each_neural_kind_trains_and_round_trips(tmp_path, data, name):
    torch.manual_seed(0)
    model = build_model(tiny(**NEURAL[name]))
    assert isinstance(model, LatentModel)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    res = train_a_few_steps(model, data, workers=2)  # 4 steps, through the worker threads
    assert res.epochs_done == 1 and np.isfinite(res.history[0]["loss"])
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert len(changed) == len(before), f"weights that training never changed: {set(before) - set(changed)}"

    path = checkpoint.save(model, tmp_path / f"{name}.safetensors")
    back = checkpoint.load(path)
    assert type(back) is type(model) and back.config == model.config
    x, y = data[0][:16], data[1][:16]
    for a, b in zip(outputs(model.eval(), x, y), outputs(back, x, y)):
        assert (a is None and b is None) or torch.equal(a, b)
    mean, logvar, image = outputs(back, x, y)
    assert mean.shape == (16, 2) and image.shape == (16, 1, 28, 28)
    assert float(image.min()) >= 0 and float(image.max()) <= 1
    assert (logvar is None) == (model.config.kind in ("ae", "aae"))


def test_training_is_seeded_for_every_variant_without_dropout(data):
    for kw in (NEURAL["cvae"], NEURAL["aae"], NEURAL["ae-denoise"]):
        runs = []
        for _ in range(2):
            torch.manual_seed(0)
            model = build_model(tiny(**kw))
            train_a_few_steps(model, data, workers=2)
            runs.append(model.state_dict())
        assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0]), kw


# ----------------------------------------------------------------------------- tied weights


def test_tied_decoder_uses_the_encoder_weights_transposed_and_stores_them_once(tmp_path, data):
    torch.manual_seed(0)
    tied = build_model(tiny(**NEURAL["vae-mlp-tied"]))
    untied = build_model(tiny(**{**NEURAL["vae-mlp-tied"], "tied": False}))
    # only biases of its own: the decoder's weight matrices are the encoder's
    assert all(p.dim() == 1 for p in tied.decoder.parameters())
    decoder_weights = sum(p.numel() for n, p in untied.decoder.named_parameters() if n.endswith("weight"))
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(tied) == count(untied) - decoder_weights

    # the decoder computes with the encoder's matrices: z -> mean.T -> hidden[1].T -> hidden[0].T
    z = torch.randn(5, 2)
    enc = [m for m in tied.encoder.modules() if isinstance(m, torch.nn.Linear)]
    h = F.relu(F.linear(z, tied.mean.weight.t(), tied.decoder.biases[0]))
    h = F.relu(F.linear(h, enc[1].weight.t(), tied.decoder.biases[1]))
    h = F.linear(h, enc[0].weight.t(), tied.decoder.biases[2])
    torch.testing.assert_close(tied.decode_logits(z), h.view(5, 1, 28, 28))

    # one gradient step on a pure reconstruction loss moves the shared matrix through both paths
    x = data[0][:8]
    loss = losses.reconstruction(tied.decode_logits(tied.encode(x)[0]), x, "bernoulli").mean()
    loss.backward()
    enc_only = torch.autograd.grad(
        losses.reconstruction(tied.decode_logits(tied.encode(x)[0].detach()), x, "bernoulli").mean(), enc[0].weight)[0]
    assert enc[0].weight.grad is not None and enc_only.abs().sum() > 0  # the decoder path alone reaches it

    # stored once: the file's keys are the state_dict's, no decoder weight matrix; and sharing survives load
    path = checkpoint.save(tied, tmp_path / "tied.safetensors")
    keys = set(load_file(path))
    assert not any(k.startswith("decoder.") and not k.startswith("decoder.biases") for k in keys)
    assert keys == set(tied.state_dict())
    back = checkpoint.load(path)
    with torch.no_grad():
        back.mean.weight.mul_(2)  # changing the encoder's matrix changes what the decoder makes
    assert not torch.equal(back.decode(z), tied.decode(z))


@pytest.mark.parametrize(("bad", "words"), [
    ({"tied": True}, "mlp"),
    ({"arch": "mlp", "tied": True, "kind": "cvae"}, "tied"),
    ({"kind": "cvae", "num_classes": 1}, "at least 2 classes"),
    ({"kind": "cvae", "default_class": 10}, "default_class"),
    ({"kind": "cvae", "decoder_label": "film"}, "unknown decoder_label"),
    ({"decoder_label": "every"}, "needs a conditional kind"),
    ({"kind": "pca", "dropout": 0.1}, "closed form"),
    ({"dropout": 1.0}, "dropout"),
    ({"denoise": -0.1}, "denoise"),
    ({"denoise": float("nan")}, "denoise"),
    ({"kind": "aae", "disc_hidden": ()}, "disc_hidden"),
    ({"adv_weight": -1.0}, "adv_weight"),
])
def test_variant_options_are_validated(bad, words):
    with pytest.raises(ConfigError, match=words):
        tiny(**bad).validate()


def test_config_json_keeps_the_new_fields_and_refuses_non_bool_tied():
    cfg = tiny(kind="aae", arch="mlp", tied=True, dropout=0.25, denoise=0.5, adv_weight=3.0, disc_hidden=(5, 7))
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="wrong type"):
        ModelConfig.from_dict({**cfg.to_dict(), "tied": 1})
    with pytest.raises(ConfigError, match="wrong type"):
        ModelConfig.from_dict({**cfg.to_dict(), "dropout": True})


# ----------------------------------------------------------------------------- denoising and dropout


def test_denoising_feeds_noisy_input_and_scores_against_the_clean_image(data):
    torch.manual_seed(0)
    model = build_model(tiny(kind="ae", denoise=0.5)).train()
    x = data[0][:8]
    noise = torch.randn_like(x)
    seen = []
    model.encoder.register_forward_pre_hook(lambda _m, args: seen.append(args[0].clone()))
    out = model(x, noise=noise)
    noisy = (x + 0.5 * noise).clamp(0, 1)
    torch.testing.assert_close(seen[-1], noisy)  # the encoder saw the corrupted image
    logits = model.decode_logits(model.encode(noisy)[0])
    clean_target = losses.reconstruction(logits, x, "bernoulli").mean()
    noisy_target = losses.reconstruction(logits, noisy, "bernoulli").mean()
    torch.testing.assert_close(out["recon"], clean_target)  # ... and was scored against the clean one
    assert not torch.allclose(out["recon"], noisy_target)
    model.eval()
    model.encode(x)
    model(x, noise=noise)
    assert torch.equal(seen[-1], x)  # no corruption outside training


def test_dropout_is_in_the_encoder_only_and_off_in_eval(data):
    torch.manual_seed(0)
    model = build_model(tiny(kind="ae", dropout=0.5))
    assert any(isinstance(m, torch.nn.Dropout) for m in model.encoder.modules())
    assert not any(isinstance(m, torch.nn.Dropout) for m in model.decoder.modules())
    x = data[0][:8]
    model.train()
    assert not torch.equal(model.encode(x)[0], model.encode(x)[0])
    model.eval()
    assert torch.equal(model.encode(x)[0], model.encode(x)[0])
    plain = build_model(tiny(kind="ae"))
    assert set(plain.state_dict()) == set(build_model(tiny(kind="ae", dropout=0.0)).state_dict())


# ----------------------------------------------------------------------------- conditional VAE


def test_cvae_output_changes_with_y_and_defaults_to_its_class(data):
    torch.manual_seed(0)
    model = build_model(tiny(kind="cvae", default_class=3))
    train_a_few_steps(model, data)
    assert model.conditional and model.config.conditional
    z = torch.randn(4, 2)
    with torch.inference_mode():
        images = {c: model.decode(z, torch.full((4,), c)) for c in range(10)}
        assert all(not torch.allclose(images[0], images[c], atol=1e-4) for c in range(1, 10))
        torch.testing.assert_close(model.decode(z), images[3])  # no y: the config's default class
        x = data[0][:4]
        m0 = model.encode(x, torch.zeros(4, dtype=torch.int64))[0]
        m5 = model.encode(x, torch.full((4,), 5))[0]
        assert not torch.allclose(m0, m5)  # the label goes into the encoder too
    for bad, message in ((torch.full((4,), 10), r"class indices must be in 0\.\.9"),
                         (torch.full((4,), -1), r"class indices must be in 0\.\.9"),
                         (torch.zeros(4), "y must be a 1-D tensor of class indices"),
                         (torch.zeros(3, dtype=torch.int64), "got 3 labels for 4 rows")):
        with pytest.raises(ValueError, match=message):
            model.decode(z, bad)


@pytest.mark.parametrize(("where", "reaches_later_layers"), [("input", False), ("every", True)])
def test_cvae_decoder_label_joins_every_layer_or_only_z(where, reaches_later_layers):
    torch.manual_seed(0)
    model = build_model(tiny(kind="cvae", hidden=(8, 8), decoder_label=where)).eval()
    first = model.decoder.dense[0]  # its input is (z, one-hot): cut the label off there
    with torch.no_grad():
        first.weight[:, 2:] = 0
    z = torch.randn(4, 2)
    with torch.inference_mode():
        images = [model.decode(z, torch.full((4,), c)) for c in range(3)]
    differ = [not torch.allclose(images[0], im) for im in images[1:]]
    assert differ == [reaches_later_layers] * 2
    convs = [m for m in model.decoder.ups if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [m.in_channels for m in convs] == ([8 + 10, 8 + 10, 4 + 10] if reaches_later_layers else [8, 8, 4])
    # a checkpoint written before the field existed has no decoder_label: it reads as "input"
    old = {k: v for k, v in tiny(kind="cvae").to_dict().items() if k != "decoder_label"}
    assert ModelConfig.from_dict(old).decoder_label == "input"


def test_cvae_needs_labels_to_train(data):
    model = build_model(tiny(kind="cvae"))
    with pytest.raises(TrainError, match="labels"):
        fit(model, data[0], TrainConfig(epochs=1, workers=1), progress=False)


def test_unconditional_kinds_ignore_y(data):
    torch.manual_seed(0)
    model = build_model(tiny(kind="vae")).eval()
    assert not model.conditional
    z = torch.randn(3, 2)
    assert torch.equal(model.decode(z), model.decode(z, torch.tensor([1, 2, 3])))


# ----------------------------------------------------------------------------- adversarial autoencoder


def test_aae_phases_train_disjoint_weights(data):
    torch.manual_seed(0)
    model = build_model(tiny(kind="aae", disc_hidden=(8,))).train()
    assert model.phases == ("disc", "ae")
    x, eps = data[0][:16], torch.randn(16, 2)
    disc = {id(p) for p in model.discriminator.parameters()}
    for phase, expect_disc in (("disc", True), ("ae", False)):
        model.zero_grad(set_to_none=True)
        model(x, eps=eps, phase=phase)["loss"].backward()
        with_grad = {id(p) for p in model.parameters() if p.grad is not None and p.grad.abs().sum() > 0}
        if expect_disc:
            assert with_grad == disc  # the discriminator alone learns to tell prior from codes
        else:
            assert with_grad and not (with_grad & disc)  # encoder + decoder learn; the judge is frozen
            assert {id(p) for p in model.encoder.parameters()} <= with_grad


def test_aae_discriminator_loss_uses_the_given_prior_samples(data):
    torch.manual_seed(0)
    model = build_model(tiny(kind="aae", disc_hidden=(8,))).train()
    x = data[0][:16]
    eps = torch.randn(16, 2)
    a = model(x, eps=eps, phase="disc")["loss"]
    b = model(x, eps=eps * 5, phase="disc")["loss"]
    assert not torch.allclose(a, b)
    with torch.no_grad():
        z = model.encode(x)[0]
        real, fake = model.discriminator(eps), model.discriminator(z)
    expected = F.softplus(-real).mean() + F.softplus(fake).mean()  # BCE(real, 1) + BCE(fake, 0)
    torch.testing.assert_close(a.detach(), expected)


# ----------------------------------------------------------------------------- the CLI, every kind and flag

CLI = ["--dataset", "synthetic", "--channels", "4,8", "--hidden", "8", "--workers", "1", "--limit", "256",
       "--batch-size", "64", "--epochs", "1", "--quiet"]


@pytest.mark.parametrize(("flags", "kind", "check"), [
    (["--model", "ae"], "ae", lambda c: c.beta == 0),
    (["--model", "vae", "--beta", "10"], "vae", lambda c: c.beta == 10),
    (["--model", "cvae"], "cvae", lambda c: c.num_classes == 10 and c.conditional),
    (["--model", "aae", "--adv-weight", "5"], "aae", lambda c: c.adv_weight == 5),
    (["--model", "pca", "--pca-solver", "incremental"], "pca", lambda c: c.arch == "conv"),
    (["--model", "ae", "--denoise", "0.4"], "ae", lambda c: c.denoise == 0.4),
    (["--model", "vae", "--dropout", "0.2"], "vae", lambda c: c.dropout == 0.2),
    (["--model", "ae", "--arch", "mlp", "--tied"], "ae", lambda c: c.tied and c.arch == "mlp"),
])
def test_every_kind_and_flag_trains_from_the_cli(tmp_path, capsys, flags, kind, check):
    from training.cli import main

    out = tmp_path / "m.safetensors"
    assert main([*CLI, *flags, "--out", str(out)]) == 0
    model = checkpoint.load(out)
    assert model.config.kind == kind and check(model.config)
    metrics = model.metadata["metrics"]
    assert metrics["test_recon"] > 0 and 0 <= metrics["test_knn5_acc"] <= 1
    if kind == "pca":
        assert metrics["pca_solver"] == "incremental"
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    assert f"model    {kind} (" in capsys.readouterr().out


@pytest.mark.parametrize(("flags", "words"), [
    (["--model", "vae", "--tied"], "tied weights need the mlp architecture"),
    (["--model", "ae", "--dropout", "1"], "dropout"),
    (["--model", "pca", "--denoise", "0.1"], "closed form"),
    (["--model", "pca", "--resume"], "does not apply to pca"),
])
def test_bad_flag_combinations_are_one_sentence(tmp_path, capsys, flags, words):
    from training.cli import main

    assert main([*CLI, *flags, "--out", str(tmp_path / "m.safetensors")]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("latent-train: error:") and words in err
