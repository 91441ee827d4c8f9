"""The from-scratch network: a Hugging Face GPT-2 of a given size.

GPT-2 is the decoder-only Transformer of the GPT papers: pre-LayerNorm blocks, causal
self-attention (here through ``torch.nn.functional.scaled_dot_product_attention``, the
``"sdpa"`` attention of ``transformers``), learned position embeddings and output weights tied
to the token embeddings. Building it with ``transformers`` (rather than a module of our own)
means ``save_pretrained`` writes a folder every GPT-2 tool reads. Measured on this 2-core CPU
(characters, 6 layers x 256 wide, context 256, batch 16; one shared, busy machine): the same
network written as plain PyTorch modules ran 1.0 s a step, GPT2LMHeadModel 1.2 s; at 4 layers x
128 GPT2LMHeadModel was the faster; the difference is within the machine's noise. The MLP's GELU
is ``gelu_pytorch_tanh``: the same tanh approximation as GPT-2's ``gelu_new`` in one fused
kernel (``gelu_new`` is several element-wise ones); a training step of 4 layers x 128 with
2,048 tokens took 9-15% less CPU time with it (one thread, median and best of 10 steps).
"""

from __future__ import annotations

from typing import Any

from datamoat.models.trainers.lm_sizing import Size


def new_model(size: Size, vocab: int, *, dropout: float = 0.0, eos_id: int = 0, seed: int = 0) -> Any:
    """A randomly initialised ``GPT2LMHeadModel`` of ``size`` with ``vocab`` tokens (seeded)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(
        vocab_size=vocab, n_positions=size.context, n_embd=size.width, n_layer=size.layers, n_head=size.heads,
        resid_pdrop=dropout, embd_pdrop=dropout, attn_pdrop=dropout, bos_token_id=eos_id, eos_token_id=eos_id,
        pad_token_id=eos_id, tie_word_embeddings=True, activation_function="gelu_pytorch_tanh",
    )
    torch.manual_seed(seed)
    return GPT2LMHeadModel._from_config(config, attn_implementation="sdpa")
