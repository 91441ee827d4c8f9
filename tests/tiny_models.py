"""Tiny randomly initialised models that several test modules save to a temp folder (nothing downloads)."""

from __future__ import annotations

from pathlib import Path


def save_tiny_bert(folder: Path, *, dropout: bool = True) -> Path:
    """Save a seeded 1-layer BERT (16-d vectors, 64 positions) with the bundled MiniLM's tokenizer
    into ``folder``; ``dropout=False`` sets its dropout probabilities to 0. Returns ``folder``."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from datamoat.models.trainers.encoder import bundled_encoder_path

    tokenizer = AutoTokenizer.from_pretrained(str(bundled_encoder_path()))
    torch.manual_seed(0)
    no_dropout = {} if dropout else {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64, **no_dropout)
    BertModel(config).save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder
