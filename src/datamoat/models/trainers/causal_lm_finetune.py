"""``causal-lm-finetune``: fine-tuning a local Hugging Face causal language model on a corpus.

Any folder ``AutoModelForCausalLM.from_pretrained`` reads (a GPT-2, a Llama-style model, one
saved by ``causal-lm``) is trained on the training documents with its own tokenizer, either
fully or through LoRA adapters (``peft``; ``lora=True``) which are merged into the weights
after training, so the saved folder is again a plain ``transformers`` causal LM. The training
loop (AdamW, warm-up + cosine decay, clipping, validation, early stopping, best weights) is
:func:`~datamoat.models.trainers.lm_loop.train_loop`. Nothing is downloaded: the checkpoint must
be a local folder.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from datamoat.errors import DatamoatError, NotFoundError
from datamoat.models.trainers.contract import register_trainer
from datamoat.models.trainers.lm_common import check_number, pick_device
from datamoat.models.trainers.lm_contract import LMTrainer, Progress
from datamoat.models.trainers.lm_data import check_stream, document_blocks, encode_documents, token_stream
from datamoat.models.trainers.lm_generation import context_length
from datamoat.models.trainers.lm_loop import LoopSettings, train_loop

MAX_CONTEXT = 512
"""Tokens per training window at most (fewer when the model reads fewer)."""
TOKENS_PER_STEP = {"cpu": 4096, "cuda": 16384}
ENCODER_FAMILIES = frozenset({"bert", "roberta", "xlm-roberta", "xlm-roberta-xl", "electra", "camembert", "ernie",
                              "data2vec-text", "rembert", "roformer", "megatron-bert", "big_bird", "xmod"})
"""Encoder model types that transformers can also build as decoders (``is_decoder=True``)."""


def check_causal_lm_folder(checkpoint: str | Path | None) -> tuple[Path, Any]:
    """(folder, its config) for a local causal-LM checkpoint; one-sentence errors otherwise."""
    if checkpoint is None or not str(checkpoint).strip():
        raise DatamoatError("trainer 'causal-lm-finetune' needs checkpoint=FOLDER, a local Hugging Face causal LM.")
    path = Path(str(checkpoint)).expanduser()
    if not (path / "config.json").is_file():
        raise NotFoundError(f"checkpoint {str(checkpoint)!r} is not a Hugging Face model folder (no config.json there).")
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    try:
        config = AutoConfig.from_pretrained(str(path))
    except (ValueError, OSError, KeyError) as exc:
        raise DatamoatError(f"checkpoint {str(path)!r}: its config.json cannot be read by transformers ({exc}).") from exc
    model_type = getattr(config, "model_type", None)
    archs = list(getattr(config, "architectures", None) or [])
    causal = model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and not getattr(config, "is_encoder_decoder", False)
    if archs:  # what the folder's weights are: a causal-LM head, or an encoder / classifier
        causal = causal and any(a.endswith("LMHeadModel") or "CausalLM" in a for a in archs)
    elif model_type in ENCODER_FAMILIES:  # these are causal only when configured as decoders
        causal = causal and bool(getattr(config, "is_decoder", False))
    if not causal:
        shown = f" ({', '.join(archs)})" if archs else ""
        raise DatamoatError(
            f"checkpoint {str(path)!r} holds a {model_type} model{shown}, which is not a causal language model; "
            "give a folder with a text-generating model such as GPT-2."
        )
    return path, config


@register_trainer
class CausalLMFinetuneTrainer(LMTrainer):
    """Fine-tuned local causal language model (optionally through merged LoRA adapters).

    Parameters
    ----------
    checkpoint:
        Local folder of a Hugging Face causal LM (``config.json``, weights, tokenizer).
    lora, lora_r, lora_alpha, lora_dropout:
        Train LoRA adapters of rank ``lora_r`` (scaling ``lora_alpha / lora_r``) on the attention
        and MLP projections instead of every weight; merged into the weights after training.
    context:
        Tokens per training window (None: the model's positions, at most 512).
    learning_rate:
        Peak AdamW rate (None: 5e-5 for full fine-tuning, 1e-3 for LoRA).
    batch_size:
        Windows per step (None: about 4,096 tokens a step on CPU, 16,384 on a GPU).
    max_steps, max_seconds:
        Training ends at whichever comes first (max_seconds covers the whole of ``fit``).
    eval_every, patience, random_state, device:
        As for ``causal-lm``.
    """

    kind = "causal-lm-finetune"

    def __init__(
        self,
        *,
        checkpoint: str | None = None,
        lora: bool = False,
        lora_r: int = 8,
        lora_alpha: int = 16,
        lora_dropout: float = 0.05,
        context: int | None = None,
        learning_rate: float | None = None,
        batch_size: int | None = None,
        max_steps: int | None = 1000,
        max_seconds: float | None = 600.0,
        eval_every: int = 50,
        patience: int | None = 5,
        random_state: int = 0,
        device: str | None = None,
    ) -> None:
        self.checkpoint = checkpoint
        self.lora = lora
        self.lora_r = lora_r
        self.lora_alpha = lora_alpha
        self.lora_dropout = lora_dropout
        self.context = context
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_steps = max_steps
        self.max_seconds = max_seconds
        self.eval_every = eval_every
        self.patience = patience
        self.random_state = random_state
        self.device = device

    def _validate(self) -> None:
        k = self.kind
        for name in ("lora_r", "lora_alpha", "context", "batch_size", "max_steps", "eval_every", "patience"):
            check_number(k, name, getattr(self, name), integer=True)
        check_number(k, "learning_rate", self.learning_rate)
        check_number(k, "max_seconds", self.max_seconds)
        check_number(k, "lora_dropout", self.lora_dropout, inclusive=True, optional=False)
        if not isinstance(self.lora, bool):
            raise DatamoatError(f"trainer {k!r}: lora={self.lora!r} must be true or false.")
        if self.max_seconds is None and self.max_steps is None:
            raise DatamoatError(f"trainer {k!r}: give max_seconds or max_steps (or both); training needs an end.")

    def _fit(self, train: list[str], valid: list[str] | None, progress: Progress) -> None:
        started = time.perf_counter()
        say = progress or (lambda _m: None)
        self._validate()
        path, _config = check_causal_lm_folder(self.checkpoint)
        device = pick_device(self.kind, self.device)
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(str(path))
        except (ValueError, OSError) as exc:
            raise DatamoatError(f"checkpoint {str(path)!r} has no tokenizer transformers can read ({exc}).") from exc
        if tokenizer.eos_token_id is None:
            raise DatamoatError(f"checkpoint {str(path)!r}: its tokenizer has no end-of-text token to separate documents.")
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        eos = int(tokenizer.eos_token_id)
        stream = token_stream(encode_documents(tokenizer, train), eos)
        model = AutoModelForCausalLM.from_pretrained(str(path)).to(device)
        ctx = int(self.context or min(context_length(model), MAX_CONTEXT))
        if ctx > context_length(model):
            raise DatamoatError(f"trainer {self.kind!r}: context={ctx} is longer than the {context_length(model)} "
                                f"positions the model in {str(path)!r} reads.")
        check_stream(stream, ctx, "the training corpus")
        if self.lora:
            model = self._with_lora(model)
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        total = sum(p.numel() for p in model.parameters())
        say(f"fine-tuning {path.name}: {trainable:,} of {total:,} weights trainable"
            + (f" (LoRA rank {self.lora_r})" if self.lora else ""))
        lr = self.learning_rate or (1e-3 if self.lora else 5e-5)
        bs = self.batch_size or max(1, TOKENS_PER_STEP.get(device.split(":")[0], 4096) // ctx)
        train_s = None if self.max_seconds is None else self.max_seconds - (time.perf_counter() - started)
        if train_s is not None and train_s <= 0:
            raise DatamoatError(f"trainer {self.kind!r}: max_seconds={self.max_seconds:g} was spent loading the model.")
        max_steps = int(self.max_steps) if self.max_steps is not None else 10**9
        settings = LoopSettings(
            learning_rate=lr, warmup_steps=max(1, min(100, (self.max_steps or 1000) // 20)), max_steps=max_steps,
            max_seconds=train_s, batch_size=bs, context=ctx, eval_every=int(self.eval_every),
            patience=self.patience, seed=self.random_state, weight_decay=0.0 if self.lora else 0.01,
            reserve_final_eval=valid is not None,
        )
        valid_ids = encode_documents(tokenizer, valid) if valid is not None else None
        blocks = document_blocks(valid_ids, eos, ctx) if valid_ids is not None else None
        loop = train_loop(model, stream, blocks, settings, device, progress=say)
        if self.lora:
            model = model.merge_and_unload()
        model.eval()
        self.model_, self.tokenizer_, self.device_ = model, tokenizer, device
        self.history_ = loop.history
        self.report_: dict[str, Any] = {
            "checkpoint": str(path), "tokenizer": {"kind": "checkpoint's own", "vocab": len(tokenizer)},
            "size": {"params": int(total), "trainable": int(trainable), "context": ctx,
                     "lora": {"r": self.lora_r, "alpha": self.lora_alpha} if self.lora else None},
            "training": {"learning_rate": lr, "batch_size": bs, "steps": loop.steps, "tokens": loop.tokens,
                         "train_tokens": int(len(stream)), "seconds": round(loop.seconds, 2),
                         "tokens_per_s": round(loop.tokens / max(loop.seconds, 1e-9), 1),
                         "best_step": loop.best_step, "stop_reason": loop.stop_reason, "device": device},
        }

    def _with_lora(self, model: Any) -> Any:
        """``model`` wrapped with LoRA adapters (peft): its default target modules for known
        architectures, every linear layer otherwise."""
        try:
            from peft import LoraConfig, get_peft_model
            from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as TARGETS
        except ImportError as exc:
            raise DatamoatError("lora=True needs peft; run `bash scripts/setup.sh ml`.") from exc
        targets = None if model.config.model_type in TARGETS else "all-linear"
        config = LoraConfig(task_type="CAUSAL_LM", r=int(self.lora_r), lora_alpha=int(self.lora_alpha),
                            lora_dropout=float(self.lora_dropout), target_modules=targets,
                            fan_in_fan_out=model.config.model_type == "gpt2")
        return get_peft_model(model, config)
