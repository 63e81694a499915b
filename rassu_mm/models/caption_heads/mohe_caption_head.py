"""MoHE caption head: Mixture of Hierarchical-prompted Experts."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.structures import BaseDataElement
from mmseg.registry import MODELS
from torch import Tensor, nn

from ..tokenization import CaptionTokenizer
from .generation import beam_search, greedy_search
from .hierarchical_prompt import HierarchicalPrompter
from .text_decoder import DecodeState, MoETextDecoder

DEFAULT_GENERATION = dict(
    strategy='greedy', max_length=20, beam_size=3, length_penalty=1.0,
    use_cache=True)


@MODELS.register_module()
class MoHECaptionHead(BaseModule):
    """Generate one caption per frame from the MCM-enhanced memory.

    A transformer decoder cross-attends to the memory ``[B*T, L, C]``. Its
    FFNs are top-k routed mixtures of experts (see :class:`MoEFeedForward`).
    Hierarchical prompts (dataset, super category, category embeddings) are
    prepended to the caption tokens and concatenated to every router input.
    A hierarchical classifier on the clip's mean memory predicts the prompt
    labels; training uses the ground-truth labels for the prompts and trains
    the classifier alongside. Without ``classes`` there are no prompts and
    with ``num_experts=1`` the FFNs are dense (a plain captioning decoder).

    Losses: label-smoothed token cross-entropy over the frames that have a
    caption (frames whose ``gt_captions`` entry is None are skipped), the
    classifier losses (``loss_cls`` on each level, one-hot targets for the
    dataset), the routers' load-balancing loss and, optionally, the
    region-caption consistency loss on the neck's ``region_embeds``.

    Args:
        tokenizer (str): tokenizer folder (``tools/build_tokenizer.py`` or
            any pretrained ``transformers`` tokenizer).
        in_channels (int): channels of the memory. Defaults to 256.
        embed_dims (int): decoder channels. Defaults to 256.
        num_layers (int): decoder layers. Defaults to 3.
        num_heads (int): attention heads. Defaults to 8.
        feedforward_channels (int): hidden channels per expert.
        num_experts (int): experts per FFN. Defaults to 4.
        top_k (int): experts per token. Defaults to 2.
        dropout (float): dropout rate. Defaults to 0.1.
        classes (Sequence[str], optional): category names (the prompts and
            the classifier need them).
        super_categories (dict, optional): super category -> class names.
        dataset_names (Sequence[str], optional): dataset names (matched with
            the data samples' metainfo ``dataset_name``).
        cls_threshold (float): probability of a predicted category.
        max_train_length (int): caption length limit in training (tokens,
            BOS and EOS included).
        generation (dict, optional): overrides of ``strategy``
            (``'greedy'``/``'beam'``), ``max_length`` (generated tokens, EOS
            included), ``beam_size``, ``length_penalty``, ``use_cache``.
        loss_caption (dict): token loss config.
        loss_cls (dict): multi-label classifier loss config.
        loss_balance_weight (float): weight of the load-balancing loss.
        loss_rcc (dict, optional): region-caption consistency loss config.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 tokenizer: str,
                 in_channels: int = 256,
                 embed_dims: int = 256,
                 num_layers: int = 3,
                 num_heads: int = 8,
                 feedforward_channels: int = 1024,
                 num_experts: int = 4,
                 top_k: int = 2,
                 dropout: float = 0.1,
                 classes: Optional[Sequence[str]] = None,
                 super_categories: Optional[Dict[str, Sequence[str]]] = None,
                 dataset_names: Optional[Sequence[str]] = None,
                 cls_threshold: float = 0.5,
                 max_train_length: int = 32,
                 generation: Optional[dict] = None,
                 loss_caption: dict = dict(
                     type='CaptionCrossEntropyLoss', label_smoothing=0.1),
                 loss_cls: dict = dict(
                     type='mmdet.CrossEntropyLoss', use_sigmoid=True,
                     loss_weight=0.5),
                 loss_balance_weight: float = 0.01,
                 loss_rcc: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if embed_dims % num_heads:
            raise ValueError('embed_dims must be divisible by num_heads')
        self.tokenizer = CaptionTokenizer(tokenizer)
        self.generation = dict(DEFAULT_GENERATION, **(generation or {}))
        self.max_train_length = max_train_length
        self.num_experts = num_experts
        self.loss_balance_weight = loss_balance_weight
        self.input_proj = nn.Sequential(
            nn.Linear(in_channels, embed_dims), nn.LayerNorm(embed_dims))
        self.prompter = None
        num_prompts = 0
        if classes:
            self.prompter = HierarchicalPrompter(
                embed_dims, embed_dims, classes, super_categories,
                dataset_names, cls_threshold)
            num_prompts = self.prompter.num_prompts
        self.decoder = MoETextDecoder(
            self.tokenizer.vocab_size, embed_dims, num_layers, num_heads,
            feedforward_channels, num_experts, top_k,
            context_dims=num_prompts * embed_dims,
            max_positions=num_prompts + 1 + max(
                max_train_length, self.generation['max_length']),
            dropout=dropout)
        self.loss_caption = MODELS.build(loss_caption)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_rcc = MODELS.build(loss_rcc) if loss_rcc else None

    def loss(self, neck_outs: Dict[str, Optional[Tensor]],
             data_samples: List) -> Dict[str, Tensor]:
        """Training losses.

        Args:
            neck_outs (dict): ``memory`` ``[B*T, L, C]`` and
                ``region_embeds`` ``[B*T, D]`` or None.
            data_samples (list[SSUDataSample]): ``B`` clips with
                ``gt_captions`` (``T`` entries, None allowed),
                ``categories`` and metainfo ``dataset_name``.

        Returns:
            dict[str, Tensor]: ``loss_caption``, ``acc_caption`` (token
            accuracy, logged only), ``loss_balance`` (with experts),
            ``loss_cls_<level>`` (with classes) and ``loss_rcc`` (with the
            RCC loss and region embeddings).
        """
        memory = self.input_proj(neck_outs['memory'])
        num_frames = len(memory) // len(data_samples)
        losses, prefix, context = {}, None, None
        if self.prompter is not None:
            logits = self.prompter.classify(self._pool(memory, data_samples))
            labels = self.prompter.targets(data_samples)
            for level, logit in logits.items():
                target = labels[level]
                if level == 'dataset':
                    target = F.one_hot(target, logit.shape[-1]).float()
                losses[f'loss_cls_{level}'] = self.loss_cls(logit, target)
            prefix, context = self._prompts(labels, num_frames)

        captions = [c for ds in data_samples for c in ds.gt_captions]
        if len(captions) != len(memory):
            raise ValueError(f'{len(captions)} captions for {len(memory)} '
                             'frames')
        keep = [i for i, c in enumerate(captions) if c is not None]
        if not keep:
            losses.update(self._zero_losses(memory, neck_outs))
            return losses
        texts = [captions[i] for i in keep]
        idx = torch.tensor(keep, device=memory.device)
        ids, mask = (t.to(memory.device) for t in self.tokenizer.encode(
            texts, self.max_train_length))
        valid = mask[:, :-1]
        num_prompts = 0
        if prefix is not None:
            prefix, context = prefix[idx], context[idx]
            num_prompts = prefix.shape[1]
            valid = F.pad(valid, (num_prompts, 0), value=True)
        logits, aux = self.decoder(ids[:, :-1], memory[idx], prefix, context,
                                   valid)
        logits = logits[:, num_prompts:]
        targets = ids[:, 1:].masked_fill(~mask[:, 1:], -100)
        losses[self.loss_caption.loss_name] = self.loss_caption(
            logits, targets)
        with torch.no_grad():
            hit = (logits.argmax(-1) == targets)[mask[:, 1:]]
            losses['acc_caption'] = hit.float().mean()
        if self.num_experts > 1:
            losses['loss_balance'] = (
                self.loss_balance_weight * aux['loss_balance'])
        region_embeds = neck_outs.get('region_embeds')
        if self.loss_rcc is not None and region_embeds is not None:
            losses[self.loss_rcc.loss_name] = self.loss_rcc(
                region_embeds[idx], texts)
        return losses

    @torch.no_grad()
    def generate(self, neck_outs: Dict[str, Optional[Tensor]],
                 data_samples: List, **overrides) -> Tensor:
        """Generated token ids ``[B*T, S]`` (no BOS; PAD after EOS).

        Prompts come from the classifier's predictions. ``overrides``
        replace entries of ``generation`` for this call.
        """
        cfg = dict(self.generation, **overrides)
        memory = self.input_proj(neck_outs['memory'])
        prefix = context = None
        if self.prompter is not None:
            logits = self.prompter.classify(self._pool(memory, data_samples))
            labels = self.prompter.predict(logits, data_samples)
            prefix, context = self._prompts(
                labels, len(memory) // len(data_samples))
        state = DecodeState(self.decoder, memory, prefix, context,
                            cfg['use_cache'])
        tok = self.tokenizer
        args = (state, len(memory), cfg['max_length'], tok.bos_id, tok.eos_id,
                tok.pad_id)
        if cfg['strategy'] == 'greedy':
            return greedy_search(*args)
        if cfg['strategy'] == 'beam':
            return beam_search(*args, cfg['beam_size'], cfg['length_penalty'])
        raise ValueError(f"Unknown strategy {cfg['strategy']!r}")

    def forward(self, neck_outs: Dict[str, Optional[Tensor]],
                data_samples: List) -> Tensor:
        """Tensor mode: generated token ids ``[B*T, S]``."""
        return self.generate(neck_outs, data_samples)

    def forward_teacher_forced(self,
                               neck_outs: Dict[str, Optional[Tensor]],
                               input_ids: Tensor,
                               data_samples: Optional[List] = None
                               ) -> Tensor:
        """Tensor mode helper (FLOPs counting, export): one decoder pass.

        The decoder reads ``input_ids`` (BOS first) in one teacher-forced
        pass, with the prompts predicted by the classifier as in
        :meth:`generate`. Its cost equals generating ``S`` tokens with the
        key/value cache.

        Args:
            neck_outs (dict): ``memory`` ``[B*T, L, C]``.
            input_ids (Tensor): token ids ``[B*T, S]``.
            data_samples (list, optional): the ``B`` clips (their metainfo
                ``dataset_name`` selects the dataset prompt); None: the
                frames are one clip.

        Returns:
            Tensor: next-token logits ``[B*T, S, V]``.
        """
        memory = self.input_proj(neck_outs['memory'])
        prefix = context = None
        if self.prompter is not None:
            if data_samples is None:
                data_samples = [BaseDataElement()]
            logits = self.prompter.classify(self._pool(memory, data_samples))
            labels = self.prompter.predict(logits, data_samples)
            prefix, context = self._prompts(
                labels, len(memory) // len(data_samples))
        logits, _ = self.decoder(input_ids, memory, prefix, context)
        return logits[:, logits.shape[1] - input_ids.shape[1]:]

    def predict(self, neck_outs: Dict[str, Optional[Tensor]],
                data_samples: List) -> List[List[str]]:
        """Captions: ``B`` lists of ``T`` strings (special tokens removed)."""
        texts = self.tokenizer.decode(self.generate(neck_outs, data_samples))
        t = len(texts) // len(data_samples)
        return [texts[b * t:(b + 1) * t] for b in range(len(data_samples))]

    @staticmethod
    def _pool(memory: Tensor, data_samples: List) -> Tensor:
        """Clip-level mean of the memory: ``[B*T, L, C]`` -> ``[B, C]``."""
        return memory.reshape(len(data_samples), -1, memory.shape[-1]).mean(1)

    def _prompts(self, labels: Dict[str, Tensor],
                 num_frames: int) -> Tuple[Tensor, Tensor]:
        """Per-frame prompt prefix ``[B*T, P, C]`` and router context
        ``[B*T, P*C]``."""
        prompts = self.prompter(labels).repeat_interleave(num_frames, 0)
        return prompts, prompts.flatten(1)

    def _zero_losses(self, memory: Tensor,
                     neck_outs: Dict[str, Optional[Tensor]]
                     ) -> Dict[str, Tensor]:
        """Zero caption losses that keep the graph valid (no captions)."""
        zero = memory.sum() * 0.
        losses = {self.loss_caption.loss_name: zero}
        if self.num_experts > 1:
            losses['loss_balance'] = zero
        if self.loss_rcc is not None and neck_outs.get(
                'region_embeds') is not None:
            losses[self.loss_rcc.loss_name] = zero
        return losses
