"""Hierarchical prompts (dataset / super-category / category) + classifier."""
from typing import Dict, List, Optional, Sequence

import torch
from torch import Tensor, nn


class HierarchicalPrompter(nn.Module):
    """Learnable prompt embeddings and the classifier that selects them.

    Levels: ``dataset`` (one of ``dataset_names``; only with names given,
    classified only with several), ``super`` (multi-label over
    ``super_categories``; only with the mapping given) and ``category``
    (multi-label over ``classes``). A level's prompt is the mean embedding
    of its active labels (zero when none is active), so a clip gets ``P``
    (1-3) prompt tokens ``[B, P, C]``.

    The classifier maps the pooled memory of a clip to logits for every
    level. It is hierarchical: a category's logit adds the logit of its super
    category, so a category can only score high inside a likely group. At
    inference the active labels are the categories above ``threshold`` (at
    least the best one), their super categories and the dataset of the
    metainfo (the classifier's best guess when the name is unknown).

    Args:
        in_channels (int): channels of the pooled memory.
        embed_dims (int): prompt channels ``C``.
        classes (Sequence[str]): category names.
        super_categories (dict, optional): super category -> its classes.
        dataset_names (Sequence[str], optional): dataset names.
        threshold (float): probability threshold of predicted categories.
    """

    def __init__(self,
                 in_channels: int,
                 embed_dims: int,
                 classes: Sequence[str],
                 super_categories: Optional[Dict[str, Sequence[str]]] = None,
                 dataset_names: Optional[Sequence[str]] = None,
                 threshold: float = 0.5):
        super().__init__()
        self.classes = list(classes)
        self.class_index = {c: i for i, c in enumerate(self.classes)}
        self.dataset_names = list(dataset_names or [])
        self.threshold = threshold
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
        """Logits ``{'category': [B, C], 'super': [B, S], 'dataset': [B,
        Dn]}`` (classified levels only) from the pooled memory ``[B, Cin]``.
        """
        h = self.mlp(pooled)
        logits = dict(category=self.fc_category(h))
        if self.super_names:
            logits['super'] = self.fc_super(h)
            logits['category'] = (
                logits['category'] + logits['super'][:, self.parent])
        if len(self.dataset_names) > 1:
            logits['dataset'] = self.fc_dataset(h)
        return logits

    def targets(self, data_samples: List) -> Dict[str, Tensor]:
        """Ground-truth labels from ``categories`` and ``dataset_name``:
        multi-hot ``category`` ``[B, C]``, ``super`` ``[B, S]`` and index
        ``dataset`` ``[B]``."""
        device = self.category_embed.weight.device
        cat = torch.zeros(len(data_samples), len(self.classes), device=device)
        for b, ds in enumerate(data_samples):
            for name in ds.categories:
                if name not in self.class_index:
                    raise KeyError(f'Unknown category {name!r} in clip '
                                   f"{ds.metainfo.get('clip_id')}")
                cat[b, self.class_index[name]] = 1
        targets = dict(category=cat)
        if self.super_names:
            targets['super'] = self._super_of(cat)
        if self.dataset_names:
            targets['dataset'] = torch.tensor(
                [self._dataset_index(ds) for ds in data_samples],
                device=device)
        return targets

    def predict(self, logits: Dict[str, Tensor],
                data_samples: List) -> Dict[str, Tensor]:
        """Labels in the format of :meth:`targets` from classifier logits."""
        probs = logits['category'].sigmoid()
        cat = (probs > self.threshold).float()
        cat.scatter_(1, probs.argmax(1, keepdim=True), 1.)
        labels = dict(category=cat)
        if self.super_names:
            labels['super'] = self._super_of(cat)
        if self.dataset_names:
            guess = (logits['dataset'].argmax(1).tolist() if 'dataset'
                     in logits else [0] * len(data_samples))
            labels['dataset'] = torch.tensor(
                [self._dataset_index(ds, g)
                 for ds, g in zip(data_samples, guess)],
                device=probs.device)
        return labels

    def forward(self, labels: Dict[str, Tensor]) -> Tensor:
        """Prompt tokens ``[B, P, C]`` (dataset, super, category order)."""
        prompts = []
        if self.dataset_names:
            prompts.append(self.dataset_embed(labels['dataset']))
        if self.super_names:
            prompts.append(_mean_embed(labels['super'], self.super_embed))
        prompts.append(_mean_embed(labels['category'], self.category_embed))
        return torch.stack(prompts, 1)

    def _super_of(self, cat: Tensor) -> Tensor:
        """Multi-hot super categories ``[B, S]`` of multi-hot classes."""
        sup = cat.new_zeros(len(cat), len(self.super_names))
        return sup.index_add_(1, self.parent, cat).clamp_(max=1)

    def _dataset_index(self, data_sample, default: Optional[int] = None
                       ) -> int:
        name = data_sample.metainfo.get('dataset_name')
        if name in self.dataset_names:
            return self.dataset_names.index(name)
        if default is None:
            raise KeyError(f'Unknown dataset_name {name!r}; expected one of '
                           f'{self.dataset_names}')
        return default


def _mean_embed(multi_hot: Tensor, embed: nn.Embedding) -> Tensor:
    """Mean embedding ``[B, C]`` of the active labels of ``[B, K]``."""
    weights = multi_hot / multi_hot.sum(1, keepdim=True).clamp(min=1)
    return weights @ embed.weight
