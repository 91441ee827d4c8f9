"""int8 dynamic quantisation of a causal language model, and its saved form.

:func:`quantize_int8` turns a fitted Hugging Face causal LM (a GPT-2 from ``causal-lm``, or any
checkpoint ``causal-lm-finetune`` tuned) into one whose linear layers hold int8 weights, one
scale per output channel, with activations quantised per call (PyTorch's dynamic quantisation,
``torch.ao.quantization.quantize_dynamic``). GPT-2 writes its projections as
``transformers``' ``Conv1D`` (``x @ W + b`` with ``W`` stored (in, out)); they are first
rewritten as the ``nn.Linear`` they are (``W`` transposed, same output to the bit), so every
projection and the output head are quantised. Embeddings and LayerNorms stay fp32.

Why PyTorch's dynamic quantisation and not ONNX Runtime here (the classifiers' encoders use
ONNX Runtime, see :mod:`datamoat.models.export.compress`): generation needs the decoder with
its key/value cache and our sliding window (:mod:`~datamoat.models.trainers.lm_generation`);
the quantised torch module keeps the model's own ``forward`` with its cache, so generation,
scoring and the perplexity measurement run the same code for both models, where an ONNX
decoder would need a second export with cache inputs and outputs and a second generation
loop. ``torch.ao.quantization`` warns that it is deprecated; it is present and works in torch
2.13 (pinned by this project), and the warnings are silenced here.

Its quantised modules are not plain tensors, so ``save_pretrained`` cannot write them.
:func:`save_int8` writes ``model-int8.safetensors`` instead: per quantised layer its int8
weight (``<layer>.weight_int8``, (out, in)), per-channel scales and zero points and fp32 bias,
plus every other parameter and buffer as it is; :func:`load_int8` rebuilds the network from
``config.json`` and puts those tensors back. No pickles are written or read. Such a folder is
loaded by datamoat (``LMTrainer.load``), not by plain ``transformers``.

Quantised models run on the CPU only (PyTorch's int8 kernels are CPU kernels).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from datamoat.errors import DatamoatError

INT8_FILE = "model-int8.safetensors"
METHOD = "torch-int8-dynamic"
"""The only LM compression method: int8 weights per output channel, activations per call."""


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence torch.ao's deprecation warnings (one per call; see the module docstring)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _conv1d_to_linear(model: Any) -> Any:
    """``model`` with every ``transformers`` ``Conv1D`` replaced by the equivalent ``nn.Linear`` (in place)."""
    import torch
    from transformers.pytorch_utils import Conv1D

    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, Conv1D):
                n_in, n_out = child.weight.shape
                linear = torch.nn.Linear(n_in, n_out, bias=child.bias is not None)
                with torch.no_grad():
                    linear.weight.copy_(child.weight.t())
                    if child.bias is not None:
                        linear.bias.copy_(child.bias)
                setattr(module, name, linear)
    return model


def _quantize(model: Any) -> Any:
    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with _quiet():
        return quantize_dynamic(model, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)


def quantize_int8(model: Any) -> Any:
    """A CPU copy of the causal LM ``model`` with int8 dynamically quantised linear layers
    (``model`` itself is not changed). DatamoatError when it has no linear layer to quantise."""
    import copy

    import torch

    out = _conv1d_to_linear(copy.deepcopy(model).to("cpu").eval())
    if not any(isinstance(m, torch.nn.Linear) for m in out.modules()):
        raise DatamoatError(f"{type(model).__name__} has no linear layers, so there is nothing to quantise.")
    quantized = _quantize(out)
    return quantized.eval()


def is_quantized(model: Any) -> bool:
    """True when ``model`` holds dynamically quantised linear layers."""
    from torch.ao.nn.quantized.dynamic import Linear as QLinear

    return any(isinstance(m, QLinear) for m in model.modules())


def _tensors(model: Any) -> dict[str, Any]:
    """Name -> tensor of everything :func:`load_int8` needs to rebuild ``model``."""
    import torch
    from torch.ao.nn.quantized.dynamic import Linear as QLinear

    out: dict[str, Any] = {}
    quantized = {name for name, m in model.named_modules() if isinstance(m, QLinear)}
    for name in quantized:
        module = model.get_submodule(name)
        with _quiet():
            weight, bias = module._weight_bias()
        if weight.qscheme() not in (torch.per_channel_affine, torch.per_channel_symmetric):
            raise DatamoatError(f"layer {name}: expected per-channel int8 weights, got {weight.qscheme()}.")
        out[f"{name}.weight_int8"] = weight.int_repr().contiguous()
        out[f"{name}.weight_scales"] = weight.q_per_channel_scales().to(torch.float64).contiguous()
        out[f"{name}.weight_zero_points"] = weight.q_per_channel_zero_points().to(torch.int64).contiguous()
        if bias is not None:
            out[f"{name}.bias"] = bias.detach().contiguous()
    for key, value in model.state_dict().items():
        owner = key.rsplit(".", 1)[0]
        if isinstance(value, torch.Tensor) and not any(owner == q or owner.startswith(q + ".") for q in quantized):
            out.setdefault(key, value.detach().clone().contiguous())
    return out


def save_int8(model: Any, directory: Path) -> Path:
    """Write ``model``'s config and :data:`INT8_FILE` into ``directory``; return the file written."""
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.config.save_pretrained(str(directory))
    tensors = _tensors(model)
    # tied weights (wte / lm_head before quantisation) may share storage: safetensors refuses that
    seen: dict[int, str] = {}
    for key, t in list(tensors.items()):
        ptr = t.data_ptr()
        if ptr in seen:
            tensors[key] = t.clone()
        seen[ptr] = key
    target = directory / INT8_FILE
    save_file(tensors, str(target), metadata={"format": "pt", "datamoat": METHOD})
    return target


def load_int8(directory: Path) -> Any:
    """The quantised causal LM saved by :func:`save_int8` in ``directory`` (CPU, eval mode)."""
    import torch
    from safetensors.torch import load_file
    from torch.ao.nn.quantized.dynamic import Linear as QLinear
    from transformers import AutoConfig, AutoModelForCausalLM

    directory = Path(directory)
    source = directory / INT8_FILE
    if not source.is_file():
        raise DatamoatError(f"{directory}: no {INT8_FILE} here, so it holds no int8 language model.")
    config = AutoConfig.from_pretrained(str(directory))
    # built on the CPU with its own buffers (attention masks ...); every saved value replaces its weights
    skeleton = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa")
    model = _quantize(_conv1d_to_linear(skeleton))
    tensors = load_file(str(source))
    quantized = {name for name, m in model.named_modules() if isinstance(m, QLinear)}
    for name, module in model.named_modules():
        if isinstance(module, QLinear):
            try:
                q = torch._make_per_channel_quantized_tensor(
                    tensors.pop(f"{name}.weight_int8"), tensors.pop(f"{name}.weight_scales"),
                    tensors.pop(f"{name}.weight_zero_points"), 0)
            except KeyError as exc:
                raise DatamoatError(f"{source}: layer {name} is missing ({exc.args[0]}); the file does not "
                                    "match config.json.") from None
            with _quiet():
                module.set_weight_bias(q, tensors.pop(f"{name}.bias", None))
    # the other parameters and buffers one by one (load_state_dict would ask the quantised
    # layers for keys of their own format)
    expected = {k for k, v in model.state_dict().items() if isinstance(v, torch.Tensor) and k.rsplit(".", 1)[0]
                not in quantized}
    missing, unexpected = sorted(expected - set(tensors)), sorted(set(tensors) - expected)
    if missing or unexpected:
        raise DatamoatError(f"{source} does not match config.json (missing {missing[:3]}, unexpected {unexpected[:3]}).")
    with torch.no_grad():
        for key, value in tensors.items():
            owner, _, leaf = key.rpartition(".")
            target = getattr(model.get_submodule(owner), leaf)
            target.copy_(value)
    return model.eval()
