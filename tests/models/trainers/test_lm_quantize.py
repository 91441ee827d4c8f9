"""int8 dynamic quantisation of a causal LM: the saved int8 folder reloads to the same outputs,
the original is untouched, and the quantised model is close to it."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("transformers")


def test_int8_model_saves_loads_and_stays_close(tmp_path: Path) -> None:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from datamoat.errors import DatamoatError
    from datamoat.models.trainers.lm_quantize import (
        INT8_FILE,
        is_quantized,
        load_int8,
        quantize_int8,
        save_int8,
    )

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=60, n_positions=32, n_embd=32, n_layer=2, n_head=2,
                                       bos_token_id=0, eos_token_id=0)).eval()
    small = quantize_int8(model)
    assert is_quantized(small) and not is_quantized(model)
    ids = torch.randint(0, 60, (2, 20))
    with torch.no_grad():
        full, int8 = model(ids).logits, small(ids).logits
    assert 0 < float((full - int8).abs().max()) < 0.1  # changed, but only by rounding the weights
    save_int8(small, tmp_path / "m")
    assert (tmp_path / "m" / INT8_FILE).is_file() and not (tmp_path / "m" / "model.safetensors").exists()
    with torch.no_grad():
        again = load_int8(tmp_path / "m")(ids).logits
    assert torch.equal(again, int8)
    with pytest.raises(DatamoatError, match="no model-int8.safetensors"):
        load_int8(tmp_path)
