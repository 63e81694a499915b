"""Per-frame hierarchical prompts (dataset / super-category / category)."""
from typing import Dict, List, Optional, Sequence

import torch
from torch import Tensor, nn

# Labels of every level as ``[N, K]`` weights: multi-hot ground truth, 0/1
# predictions or (soft prompts) probabilities.
LevelWeights = Dict[str, Tensor]


class HierarchicalPrompter(nn.Module):
    """Learnable prompt embeddings and the per-frame classifier behind them.

    Levels: ``dataset`` (one of ``dataset_names``; only with names given,
    classified only with several), ``super`` (multi-label over
    ``super_categories``; only with the mapping given) and ``category``
    (multi-label over ``classes``). Every frame gets ``P`` (1-3) prompt
    tokens ``[N, P, C]``: a level's prompt is ``sum_k w_k e_k / max(1,
    sum_k w_k)`` over its label embeddings ``e_k``, i.e. the mean embedding
    of the active labels for 0/1 weights, a probability-weighted embedding
    for soft weights (near zero when nothing is likely).

    The classifier maps a frame's pooled memory to logits for every level.
    It is hierarchical: a category's logit adds the logit of its super
    category, so a category can only score high inside a likely group.

    Per-frame targets (:meth:`targets`): with semantic masks (metainfo
    ``seg_mode='semantic'``) the classes present in the frame's
    ``gt_sem_seg`` (value ``v`` is ``classes[v - 1]``, so ``classes`` must
    follow the dataset's order); frames without a mask (all ignored) and
    binary masks fall back to the clip's ``categories``.

    Args:
        in_channels (int): channels of the pooled memory.
        embed_dims (int): prompt channels ``C``.
        classes (Sequence[str]): category names.
        super_categories (dict, optional): super category -> its classes.
        dataset_names (Sequence[str], optional): dataset names.
        threshold (float): probability of a predicted category (hard
            labels, :meth:`predict`).
        ignore_index (int, optional): label of ignored ``gt_sem_seg``
            pixels (a frame without a mask is all ``ignore_index``); the
            mask head's, filled in by :class:`MoHECaptionHead`. Semantic
            masks need it. Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 embed_dims: int,
                 classes: Sequence[str],
                 super_categories: Optional[Dict[str, Sequence[str]]] = None,
                 dataset_names: Optional[Sequence[str]] = None,
                 threshold: float = 0.5,
                 ignore_index: Optional[int] = None):
        super().__init__()
        self.classes = list(classes)
        self.class_index = {c: i for i, c in enumerate(self.classes)}
        self.dataset_names = list(dataset_names or [])
        self.threshold = threshold
        self.ignore_index = ignore_index
        self.mlp = nn.Sequential(
            nn.LayerNorm(in_channels), nn.Linear(in_channels, embed_dims),
            nn.GELU())
        self.category_embed = nn.Embedding(len(self.classes), embed_dims)
        self.fc_category = nn.Linear(embed_dims, len(self.classes))
        self.super_names = list(super_categories or {})
        if self.super_names:
            parent = torch.full((len(self.classes), ), -1, dtype=torch.long)
            for s, members in enumerate(super_categories.values()):
                for name in members:
                    parent[self.class_index[name]] = s
            if (parent < 0).any():
                missing = [c for c, p in zip(self.classes, parent) if p < 0]
                raise ValueError(f'Classes without super category: {missing}')
            self.register_buffer('parent', parent, False)
            self.super_embed = nn.Embedding(len(self.super_names), embed_dims)
            self.fc_super = nn.Linear(embed_dims, len(self.super_names))
        if self.dataset_names:
            self.dataset_embed = nn.Embedding(len(self.dataset_names),
                                              embed_dims)
        if len(self.dataset_names) > 1:
            self.fc_dataset = nn.Linear(embed_dims, len(self.dataset_names))

        for module in self.modules():
            if isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, std=0.02)

    @property
    def num_prompts(self) -> int:
        """Number of prompt tokens ``P``."""
        return 1 + bool(self.super_names) + bool(self.dataset_names)

    def classify(self, pooled: Tensor) -> Dict[str, Tensor]:
        """Logits ``{'category': [N, K], 'super': [N, S], 'dataset': [N,
        Dn]}`` (classified levels only) from the pooled memory of each frame
        ``[N, Cin]``."""
        h = self.mlp(pooled)
        logits = dict(category=self.fc_category(h))
        if self.super_names:
            logits['super'] = self.fc_super(h)
            logits['category'] = (
                logits['category'] + logits['super'][:, self.parent])
        if len(self.dataset_names) > 1:
            logits['dataset'] = self.fc_dataset(h)
        return logits

    def targets(self, data_samples: List, num_frames: int) -> LevelWeights:
        """Per-frame ground truth (see the class doc): multi-hot
        ``category`` ``[N, K]``, ``super`` ``[N, S]`` and one-hot
        ``dataset`` ``[N, Dn]``, ``N = B * num_frames``."""
        device = self.category_embed.weight.device
        cat = torch.cat([
            self._frame_categories(ds, num_frames) for ds in data_samples
        ]).to(device)
        targets = dict(category=cat)
        if self.super_names:
            targets['super'] = self._super_of(cat)
        if self.dataset_names:
            targets['dataset'] = self._dataset_weights(
                data_samples, num_frames, strict=True)
        return targets

    def soft_labels(self, logits: Dict[str, Tensor], data_samples: List,
                    num_frames: int) -> LevelWeights:
        """Detached probabilities of :meth:`classify`'s logits (the soft
        prompts of training and inference alike); the dataset from the
        metainfo ``dataset_name`` where it is known."""
        labels = dict(category=logits['category'].detach().sigmoid())
        if self.super_names:
            labels['super'] = logits['super'].detach().sigmoid()
        if self.dataset_names:
            labels['dataset'] = self._dataset_weights(
                data_samples, num_frames, logits.get('dataset'))
        return labels

    def predict(self, logits: Dict[str, Tensor], data_samples: List,
                num_frames: int) -> LevelWeights:
        """Hard 0/1 labels from the logits: the categories above
        ``threshold`` (at least the best one), their super categories and
        the dataset as in :meth:`soft_labels`."""
        probs = logits['category'].detach().sigmoid()
        cat = (probs > self.threshold).float()
        cat.scatter_(1, probs.argmax(1, keepdim=True), 1.)
        labels = dict(category=cat)
        if self.super_names:
            labels['super'] = self._super_of(cat)
        if self.dataset_names:
            labels['dataset'] = self._dataset_weights(
                data_samples, num_frames, logits.get('dataset'))
        return labels

    def forward(self, labels: LevelWeights) -> Tensor:
        """Prompt tokens ``[N, P, C]`` (dataset, super, category order)."""
        prompts = []
        if self.dataset_names:
            prompts.append(_mean_embed(labels['dataset'], self.dataset_embed))
        if self.super_names:
            prompts.append(_mean_embed(labels['super'], self.super_embed))
        prompts.append(_mean_embed(labels['category'], self.category_embed))
        return torch.stack(prompts, 1)

    def _frame_categories(self, data_sample, num_frames: int) -> Tensor:
        """Multi-hot ``[T, K]`` categories of each frame of one clip."""
        clip = torch.zeros(len(self.classes))
        for name in data_sample.categories:
            if name not in self.class_index:
                raise KeyError(f'Unknown category {name!r} in clip '
                               f"{data_sample.metainfo.get('clip_id')}")
            clip[self.class_index[name]] = 1
        clip = clip.expand(num_frames, -1)
        if (data_sample.metainfo.get('seg_mode') != 'semantic'
                or 'gt_sem_seg' not in data_sample):
            return clip
        if self.ignore_index is None:
            raise ValueError(
                'per-frame targets from semantic masks need the ignore_index '
                "of the masks (SSUFormer passes its decode_head's)")
        seg = data_sample.gt_sem_seg.data.flatten(1).cpu()
        valid = (seg > 0) & (seg <= len(self.classes))
        counts = torch.zeros(len(seg), len(self.classes) + 1).scatter_add_(
            1, torch.where(valid, seg, 0), valid.float())
        has_mask = (seg != self.ignore_index).any(1, keepdim=True)
        return torch.where(has_mask, (counts[:, 1:] > 0).float(), clip)

    def _super_of(self, cat: Tensor) -> Tensor:
        """Multi-hot super categories ``[N, S]`` of multi-hot classes."""
        sup = cat.new_zeros(len(cat), len(self.super_names))
        return sup.index_add_(1, self.parent, cat).clamp_(max=1)

    def _dataset_weights(self,
                         data_samples: List,
                         num_frames: int,
                         logits: Optional[Tensor] = None,
                         strict: bool = False) -> Tensor:
        """Dataset weights ``[N, Dn]``: one-hot of the metainfo
        ``dataset_name``; where it is unknown, an error (``strict``) or the
        classifier's softmax of ``logits`` ``[N, Dn]`` (with one dataset,
        that one)."""
        device = self.dataset_embed.weight.device
        rows = []
        for b, ds in enumerate(data_samples):
            name = ds.metainfo.get('dataset_name')
            if name in self.dataset_names:
                row = torch.zeros(len(self.dataset_names), device=device)
                row[self.dataset_names.index(name)] = 1
                rows.append(row.expand(num_frames, -1))
            elif strict:
                raise KeyError(f'Unknown dataset_name {name!r} of clip '
                               f"{ds.metainfo.get('clip_id')}; expected one "
                               f'of {self.dataset_names}')
            elif logits is None:
                rows.append(torch.ones(num_frames, 1, device=device))
            else:
                rows.append(logits[b * num_frames:(b + 1) *
                                   num_frames].detach().softmax(-1))
        return torch.cat(rows)


def _mean_embed(weights: Tensor, embed: nn.Embedding) -> Tensor:
    """``sum_k w_k e_k / max(1, sum_k w_k)`` ``[N, C]`` of ``[N, K]``."""
    weights = weights / weights.sum(1, keepdim=True).clamp(min=1)
    return weights.to(embed.weight.dtype) @ embed.weight
