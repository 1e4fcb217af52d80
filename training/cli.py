"""The ``latent-train`` entry point: Ctrl-C while torch is still importing exits quietly too."""

import sys


def main() -> int:
    try:
        from training.train import main as train_main
    except KeyboardInterrupt:
        print("latent-train: interrupted", file=sys.stderr)
        return 130
    return train_main()
