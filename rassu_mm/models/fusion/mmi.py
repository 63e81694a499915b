"""Multi-Modality Integration (MMI): bidirectional audio-visual fusion."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmcv.cnn.bricks.transformer import FFN
from mmdet.models.layers import SinePositionalEncoding
from mmengine.model import BaseModule, ModuleList

from mmseg.registry import MODELS
from .attention import SDPAttention


class MMILayer(BaseModule):
    """One MMI layer (pre-norm).

    For the video stream ``v`` and the audio stream ``a``::

        v = v + SelfAttn(v) + CrossAttn(v <- a)
        a = a + SelfAttn(a) + CrossAttn(a <- v)
        v = v + FFN(v);  a = a + FFN(a)

    Both cross-attentions read the normalised inputs of the layer, so the
    two directions run in parallel and their outputs are summed with the
    self-attention outputs.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 feedforward_channels: int,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.self_attn_v = SDPAttention(embed_dims, num_heads, dropout)
        self.self_attn_a = SDPAttention(embed_dims, num_heads, dropout)
        self.cross_attn_v = SDPAttention(embed_dims, num_heads, dropout)
        self.cross_attn_a = SDPAttention(embed_dims, num_heads, dropout)
        self.ffn_v = FFN(embed_dims, feedforward_channels, ffn_drop=dropout)
        self.ffn_a = FFN(embed_dims, feedforward_channels, ffn_drop=dropout)
        self.norms = ModuleList(nn.LayerNorm(embed_dims) for _ in range(4))

    def forward(self, video: torch.Tensor, audio: torch.Tensor,
                video_pos: torch.Tensor,
                audio_pos: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """``video`` ``[N, L, C]``, ``audio`` ``[N, Nq, C]`` (+ positions of
        the same shapes) -> updated ``video``, ``audio``."""
        v, a = self.norms[0](video), self.norms[1](audio)
        video = video + self.self_attn_v(v, v, v, video_pos, video_pos) + \
            self.cross_attn_v(v, a, a, video_pos, audio_pos)
        audio = audio + self.self_attn_a(a, a, a, audio_pos, audio_pos) + \
            self.cross_attn_a(a, v, v, audio_pos, video_pos)
        video = self.ffn_v(self.norms[2](video), identity=video)
        audio = self.ffn_a(self.norms[3](audio), identity=audio)
        return video, audio


@MODELS.register_module()
class MultiModalityIntegration(BaseModule):
    """``num_layers`` MMI layers between a visual map and audio queries.

    Args:
        embed_dims (int): Token size ``C``.
        num_layers (int): Number of MMI layers ``N``. Defaults to 2.
        num_heads (int): Attention heads. Defaults to 8.
        feedforward_channels (int): FFN hidden size. Defaults to
            ``4 * embed_dims``.
        dropout (float): Attention and FFN dropout. Defaults to 0.
    """

    def __init__(self,
                 embed_dims: int,
                 num_layers: int = 2,
                 num_heads: int = 8,
                 feedforward_channels: Optional[int] = None,
                 dropout: float = 0.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.embed_dims = embed_dims
        self.positional_encoding = SinePositionalEncoding(
            embed_dims // 2, normalize=True)
        self.layers = ModuleList(
            MMILayer(embed_dims, num_heads, feedforward_channels or 4 *
                     embed_dims, dropout) for _ in range(num_layers))
        self.norm_v = nn.LayerNorm(embed_dims)
        self.norm_a = nn.LayerNorm(embed_dims)

    def forward(self, video: torch.Tensor, audio: torch.Tensor,
                audio_pos: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Fuse a visual feature map with audio query tokens.

        Args:
            video (Tensor): Visual map ``[N, C, h, w]``.
            audio (Tensor): Audio query tokens ``[N, Nq, C]``.
            audio_pos (Tensor): Their positions ``[N, Nq, C]``.

        Returns:
            tuple[Tensor]: Fused video tokens ``[N, h*w, C]`` (row-major)
            and fused audio tokens ``[N, Nq, C]``.
        """
        num, _, h, w = video.shape
        mask = video.new_zeros((num, h, w), dtype=torch.bool)
        video_pos = self.positional_encoding(mask).flatten(2).transpose(1, 2)
        video = video.flatten(2).transpose(1, 2)
        for layer in self.layers:
            video, audio = layer(video, audio, video_pos, audio_pos)
        return self.norm_v(video), self.norm_a(audio)
