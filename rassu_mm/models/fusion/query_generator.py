"""Audio query token generator."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmcv.cnn.bricks.transformer import FFN
from mmengine.model import BaseModule

from mmseg.registry import MODELS


@MODELS.register_module()
class AudioQueryGenerator(BaseModule):
    """Turn one audio embedding per frame into ``num_queries`` tokens.

    Each learnable query is shifted by the projected audio embedding and
    refined by a residual FFN, so every query responds to the sound in its
    own, non-linear way (AVSegFormer-style audio queries).

    Args:
        in_channels (int): Audio embedding size ``Da``.
        embed_dims (int): Token size ``C``.
        num_queries (int): Queries per frame ``Nq``.
        feedforward_channels (int): FFN hidden size. Defaults to
            ``4 * embed_dims``.
    """

    def __init__(self,
                 in_channels: int,
                 embed_dims: int,
                 num_queries: int,
                 feedforward_channels: Optional[int] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_queries = num_queries
        self.audio_proj = nn.Sequential(
            nn.Linear(in_channels, embed_dims), nn.ReLU(inplace=True),
            nn.Linear(embed_dims, embed_dims))
        self.query_feat = nn.Embedding(num_queries, embed_dims)
        self.query_pos = nn.Embedding(num_queries, embed_dims)
        self.norm = nn.LayerNorm(embed_dims)
        self.ffn = FFN(embed_dims, feedforward_channels or 4 * embed_dims)

    def forward(self, audio_embeds: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """``[N, Da]`` -> query tokens and their positions, ``[N, Nq, C]``
        each."""
        num = audio_embeds.shape[0]
        queries = self.query_feat.weight[None] + \
            self.audio_proj(audio_embeds)[:, None]
        queries = self.ffn(self.norm(queries), identity=queries)
        query_pos = self.query_pos.weight[None].expand(num, -1, -1)
        return queries, query_pos
