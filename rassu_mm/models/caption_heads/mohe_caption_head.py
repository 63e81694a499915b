"""MoHE caption head: Mixture of Hierarchical-prompted Experts."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.structures import BaseDataElement
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, SampleList
from torch import Tensor, nn

from ..utils import draw_seeds, rng_stream
from ..utils.tokenization import CaptionTokenizer
from .generation import beam_search, greedy_search
from .hierarchical_prompt import HierarchicalPrompter
from .text_decoder import DecodeState, MoETextDecoder

DEFAULT_GENERATION = dict(
    strategy='greedy', max_length=20, beam_size=3, length_penalty=1.0,
    use_cache=True, eos_check_interval=8, compile=False)


@MODELS.register_module()
class MoHECaptionHead(BaseModule):
    """Generate one caption per frame from the MCM-enhanced memory.

    A transformer decoder cross-attends to the memory ``[N, L, C]``
    (``N = B*T`` frames); the memory positions ``memory_pos``, when given,
    are added to its keys. Its FFNs are top-k routed mixtures of experts
    (see :class:`MoEFeedForward`). Hierarchical prompts (dataset, super
    category, category embeddings) are prepended to the caption tokens and
    concatenated to every router input, **per frame**: a hierarchical
    classifier on each frame's mean memory predicts them (see
    :class:`HierarchicalPrompter`) and is trained on per-frame labels.
    With ``prompt_source='predicted'`` (default) the prompts are built from
    the classifier's detached probabilities in training and inference alike
    (no exposure bias); ``'ground_truth'`` trains with the ground-truth
    labels and infers from thresholded predictions (the train/test mismatch
    of teacher-forced prompts, kept for comparison). Predictions never read
    ground truth. Without ``classes`` there are no prompts and with
    ``num_experts=1`` the FFNs are dense (a plain captioning decoder).

    Losses: label-smoothed token cross-entropy over the frames that have a
    caption (frames whose ``gt_captions`` entry is None are skipped), the
    classifier losses (``loss_cls`` on each level), the routers'
    load-balancing loss and, optionally, the region losses on the mask
    collaboration module's ``region_embeds``.

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
            the classifier need them), in the dataset's order.
        super_categories (dict, optional): super category -> class names.
        dataset_names (Sequence[str], optional): dataset names (matched with
            the data samples' metainfo ``dataset_name``).
        prompt_source (str): ``'predicted'`` or ``'ground_truth'`` (see
            above). Defaults to ``'predicted'``.
        cls_threshold (float): probability of a predicted category
            (``prompt_source='ground_truth'`` at inference).
        ignore_index (int, optional): label of ignored ``gt_sem_seg``
            pixels, for the prompter's per-frame targets from semantic masks
            (see :class:`HierarchicalPrompter`); SSUFormer fills in its mask
            head's. Defaults to None.
        max_train_length (int): caption length limit in training (tokens,
            BOS and EOS included).
        generation (dict, optional): overrides of ``strategy``
            (``'greedy'``/``'beam'``), ``max_length`` (generated tokens, EOS
            included), ``beam_size``, ``length_penalty``, ``use_cache``,
            ``eos_check_interval`` (steps between host reads of "every
            caption ended"; 8) and ``compile`` (True or a dict of
            ``torch.compile`` options such as ``mode``/``backend``: the
            cached decode step runs compiled with ``fullgraph=True``, on CUDA
            with ``mode='reduce-overhead'`` unless given; needs
            ``use_cache``).
        loss_caption (dict): token loss config.
        loss_cls (dict): multi-label classifier loss config.
        loss_balance_weight (float): weight of the load-balancing loss.
        loss_clip (dict, optional): the paper's CLIP consistency loss
            (e.g. ``dict(type='CLIPConsistencyLoss')``) on
            ``region_embeds``.
        loss_rcc (dict, optional): the region-caption consistency (RCC)
            loss (``dict(type='RegionCaptionConsistencyLoss')``) on
            ``region_embeds``.
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
                 prompt_source: str = 'predicted',
                 cls_threshold: float = 0.5,
                 ignore_index: Optional[int] = None,
                 max_train_length: int = 32,
                 generation: Optional[dict] = None,
                 loss_caption: ConfigType = dict(
                     type='CaptionCrossEntropyLoss', label_smoothing=0.1),
                 loss_cls: ConfigType = dict(
                     type='mmdet.CrossEntropyLoss', use_sigmoid=True,
                     loss_weight=0.5),
                 loss_balance_weight: float = 0.01,
                 loss_clip: OptConfigType = None,
                 loss_rcc: OptConfigType = None,
                 init_cfg: OptConfigType = None):
        super().__init__(init_cfg=init_cfg)
        if embed_dims % num_heads:
            raise ValueError('embed_dims must be divisible by num_heads')
        if prompt_source not in ('predicted', 'ground_truth'):
            raise ValueError("prompt_source must be 'predicted' or "
                             f"'ground_truth', got {prompt_source!r}")
        self.tokenizer = CaptionTokenizer(tokenizer)
        self.generation = dict(DEFAULT_GENERATION, **(generation or {}))
        self.max_train_length = max_train_length
        self.num_experts = num_experts
        self.prompt_source = prompt_source
        self.loss_balance_weight = loss_balance_weight
        self.input_proj = nn.Sequential(
            nn.Linear(in_channels, embed_dims), nn.LayerNorm(embed_dims))
        self.pos_proj = nn.Linear(in_channels, embed_dims, bias=False)
        # the prompts are drawn from a stream of their own (its seed drawn
        # either way), so the decoder's weights do not depend on them
        prompter_seed, = draw_seeds(1)
        self.prompter = None
        num_prompts = 0
        if classes:
            with rng_stream(prompter_seed):
                self.prompter = HierarchicalPrompter(
                    embed_dims, embed_dims, classes, super_categories,
                    dataset_names, cls_threshold, ignore_index)
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
        self.loss_clip = MODELS.build(loss_clip) if loss_clip else None
        self.loss_rcc = MODELS.build(loss_rcc) if loss_rcc else None

    def loss(self, inputs: Dict[str, Optional[Tensor]],
             data_samples: SampleList) -> Dict[str, Tensor]:
        """Training losses.

        Args:
            inputs (dict): ``memory`` ``[N, L, C]``, ``num_frames`` ``T``
                (``N = B*T``), optional ``memory_pos`` ``[N, L, C]`` and
                ``region_embeds`` ``[N, D]`` (or None).
            data_samples (list[SSUDataSample]): ``B`` clips with
                ``gt_captions`` (``T`` entries, None allowed),
                ``categories``, ``gt_sem_seg`` (semantic masks give
                per-frame labels) and metainfo ``dataset_name``.

        Returns:
            dict[str, Tensor]: ``loss_caption``, ``acc_caption`` (token
            accuracy, logged only), ``loss_balance`` (with experts),
            ``loss_cls_<level>`` (with classes) and the region losses (with
            region embeddings).
        """
        memory, memory_pos = self._memory(inputs)
        num_frames = inputs['num_frames']
        losses, prefix, context = {}, None, None
        if self.prompter is not None:
            logits, prompt_labels = self._classify(memory, data_samples,
                                                   num_frames)
            targets = self.prompter.targets(data_samples, num_frames)
            for level, logit in logits.items():
                losses[f'loss_cls_{level}'] = self.loss_cls(
                    logit, targets[level])
            if self.prompt_source == 'ground_truth':
                prompt_labels = targets
            prefix, context = self._prompts(prompt_labels)

        captions = [c for ds in data_samples for c in ds.gt_captions]
        if len(captions) != len(memory):
            raise ValueError(f'{len(captions)} captions for {len(memory)} '
                             'frames')
        keep = [i for i, c in enumerate(captions) if c is not None]
        if not keep:
            losses.update(self._zero_losses(memory, inputs))
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
        logits, aux = self.decoder(
            ids[:, :-1], memory[idx], prefix, context, valid,
            memory_pos=None if memory_pos is None else memory_pos[idx])
        logits = logits[:, num_prompts:]
        targets = ids[:, 1:].masked_fill(~mask[:, 1:], -100)
        losses[self.loss_caption.loss_name] = self.loss_caption(
            logits, targets)
        with torch.no_grad():
            # a masked mean rather than boolean indexing: no host sync
            hit = (logits.argmax(-1) == targets) & mask[:, 1:]
            losses['acc_caption'] = hit.sum() / mask[:, 1:].sum()
        if self.num_experts > 1:
            losses['loss_balance'] = (
                self.loss_balance_weight * aux['loss_balance'])
        for loss in self._region_losses(inputs):
            losses[loss.loss_name] = loss(inputs['region_embeds'][idx],
                                          texts)
        return losses

    @torch.no_grad()
    def generate(self, inputs: Dict[str, Optional[Tensor]],
                 data_samples: SampleList, **overrides) -> Tensor:
        """Generated token ids ``[N, S]`` (no BOS; PAD after EOS) from
        ``inputs`` as in :meth:`loss`.

        Prompts come from the classifier's predictions. ``overrides``
        replace entries of ``generation`` for this call.
        """
        cfg = dict(self.generation, **overrides)
        memory, memory_pos = self._memory(inputs)
        prefix, context = self._predicted_prompts(memory, data_samples,
                                                  inputs['num_frames'])
        if cfg['strategy'] not in ('greedy', 'beam'):
            raise ValueError(f"Unknown strategy {cfg['strategy']!r}")
        compile = cfg['compile']
        if compile and not cfg['use_cache']:
            raise ValueError('generation compile=True needs use_cache=True')
        state = DecodeState(
            self.decoder, memory, prefix, context, cfg['use_cache'],
            cfg['max_length'], memory_pos,
            compile=(dict(compile) if isinstance(compile, dict) else
                     {} if compile else None))
        tok = self.tokenizer
        args = (state, len(memory), cfg['max_length'], tok.bos_id, tok.eos_id,
                tok.pad_id)
        if cfg['strategy'] == 'greedy':
            return greedy_search(
                *args, eos_check_interval=cfg['eos_check_interval'])
        return beam_search(*args, cfg['beam_size'], cfg['length_penalty'],
                           cfg['eos_check_interval'])

    def forward(self, inputs: Dict[str, Optional[Tensor]],
                data_samples: SampleList) -> Tensor:
        """Tensor mode: generated token ids ``[N, S]``."""
        return self.generate(inputs, data_samples)

    def forward_teacher_forced(self,
                               inputs: Dict[str, Optional[Tensor]],
                               input_ids: Union[Tensor, int],
                               data_samples: Optional[SampleList] = None
                               ) -> Tensor:
        """Tensor mode helper (FLOPs counting, export): one decoder pass.

        The decoder reads ``input_ids`` (BOS first) in one teacher-forced
        pass, with the prompts predicted by the classifier as in
        :meth:`generate`. Its cost equals generating ``S`` tokens with the
        key/value cache.

        Args:
            inputs (dict): ``memory`` ``[N, L, C]``, ``num_frames`` (and
                ``memory_pos``).
            input_ids (Tensor | int): token ids ``[N, S]``, or a length
                ``S``: BOS followed by ``S - 1`` PAD tokens for every frame
                (what counting the cost of ``S`` generated tokens needs).
            data_samples (list, optional): the ``B`` clips (their metainfo
                ``dataset_name`` selects the dataset prompt); None: one clip
                of unknown dataset.

        Returns:
            Tensor: next-token logits ``[N, S, V]``.
        """
        if isinstance(input_ids, int):
            input_ids = self._placeholder_ids(len(inputs['memory']),
                                              input_ids,
                                              inputs['memory'].device)
        memory, memory_pos = self._memory(inputs)
        prefix, context = self._predicted_prompts(
            memory, data_samples or [BaseDataElement()],
            inputs['num_frames'])
        logits, _ = self.decoder(input_ids, memory, prefix, context,
                                 memory_pos=memory_pos)
        return logits[:, logits.shape[1] - input_ids.shape[1]:]

    def _placeholder_ids(self, num: int, length: int,
                         device: torch.device) -> Tensor:
        """``[num, length]`` token ids: BOS, then PAD."""
        ids = torch.full((num, length), self.tokenizer.pad_id,
                         dtype=torch.long, device=device)
        ids[:, 0] = self.tokenizer.bos_id
        return ids

    def predict(self, inputs: Dict[str, Optional[Tensor]],
                data_samples: SampleList) -> List[List[str]]:
        """Captions: ``B`` lists of ``T`` strings (special tokens removed)."""
        texts = self.tokenizer.decode(self.generate(inputs, data_samples))
        t = inputs['num_frames']
        return [texts[b * t:(b + 1) * t] for b in range(len(data_samples))]

    def _memory(self, inputs: Dict[str, Optional[Tensor]]
                ) -> Tuple[Tensor, Optional[Tensor]]:
        """Decoder-width memory ``[N, L, C']`` and its key positions
        ``[N, L, C']`` (None without ``memory_pos``)."""
        memory_pos = inputs.get('memory_pos')
        if memory_pos is not None:
            memory_pos = self.pos_proj(memory_pos)
        return self.input_proj(inputs['memory']), memory_pos

    def _classify(self, memory: Tensor, data_samples: SampleList,
                  num_frames: int
                  ) -> Tuple[Dict[str, Tensor], Dict[str, Tensor]]:
        """Per-frame classifier logits (on each frame's mean memory) and
        the soft prompt labels from them."""
        logits = self.prompter.classify(memory.mean(1))
        labels = self.prompter.soft_labels(logits, data_samples, num_frames)
        return logits, labels

    def _predicted_prompts(self, memory: Tensor, data_samples: SampleList,
                           num_frames: int
                           ) -> Tuple[Optional[Tensor], Optional[Tensor]]:
        """Inference prompts (no ground truth): soft labels, or thresholded
        labels with ``prompt_source='ground_truth'``."""
        if self.prompter is None:
            return None, None
        logits, labels = self._classify(memory, data_samples, num_frames)
        if self.prompt_source == 'ground_truth':
            labels = self.prompter.predict(logits, data_samples, num_frames)
        return self._prompts(labels)

    def _prompts(self, labels: Dict[str, Tensor]) -> Tuple[Tensor, Tensor]:
        """Per-frame prompt prefix ``[N, P, C]`` and router context
        ``[N, P*C]``."""
        prompts = self.prompter(labels)
        return prompts, prompts.flatten(1)

    def _zero_losses(self, memory: Tensor,
                     inputs: Dict[str, Optional[Tensor]]
                     ) -> Dict[str, Tensor]:
        """Zero caption losses that keep the graph valid (no captions)."""
        zero = memory.sum() * 0.
        losses = {self.loss_caption.loss_name: zero}
        if self.num_experts > 1:
            losses['loss_balance'] = zero
        for loss in self._region_losses(inputs):
            losses[loss.loss_name] = zero
        return losses

    def _region_losses(self, inputs: Dict[str, Optional[Tensor]]) -> list:
        """The configured region losses (none without
        ``region_embeds``)."""
        if inputs.get('region_embeds') is None:
            return []
        return [
            loss for loss in (self.loss_clip, self.loss_rcc)
            if loss is not None
        ]
