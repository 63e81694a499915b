"""Multi-Modality Integration (MMI): bidirectional audio-visual fusion."""
from typing import Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn.bricks.transformer import FFN
from mmdet.models.layers import SinePositionalEncoding
from mmengine.model import BaseModule, ModuleList
from torch import Tensor

from mmseg.registry import MODELS
from ..utils import SDPAttention, draw_seeds, rng_stream


class MMILayer(BaseModule):
    """One MMI layer (pre-norm) over several video levels.

    For the video tokens ``v_l`` of level ``l`` and the audio query tokens
    ``a`` of a frame::

        v_l = v_l + SelfAttn(v_l) + CrossAttn(v_l <- a)
        a   = a + SelfAttn(a) + CrossAttn(a <- [v_1, ..., v_L])
        a   = a + TemporalAttn(a of all T frames of the clip)   (optional)
        v_l = v_l + FFN(v_l);  a = a + FFN(a)

    Video self-attention stays within a level (the 1/8 level alone has 16
    times the tokens of the 1/32 level, and attention cost grows with the
    square of the tokens); the audio queries read all levels at once, and
    every video token reads the audio queries. Both cross-attentions read
    the normalised inputs of the layer, so the two directions run in
    parallel.

    Args:
        embed_dims (int): Token size ``C``.
        num_heads (int): Attention heads.
        feedforward_channels (int): FFN hidden size.
        dropout (float): Attention and FFN dropout. Defaults to 0.
        temporal (bool): Add self-attention over the query tokens of all
            frames of a clip (drawn from an RNG stream of its own: the
            layer's other weights are those of a layer without it).
            Defaults to False.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 feedforward_channels: int,
                 dropout: float = 0.0,
                 temporal: bool = False) -> None:
        super().__init__()
        # the temporal attention is drawn from a stream of its own (its seed
        # drawn either way), so the other weights, here and in every module
        # built after this layer, do not depend on ``temporal``
        temporal_seed, = draw_seeds(1)
        self.self_attn_v = SDPAttention(embed_dims, num_heads, dropout)
        self.self_attn_a = SDPAttention(embed_dims, num_heads, dropout)
        self.cross_attn_v = SDPAttention(embed_dims, num_heads, dropout)
        self.cross_attn_a = SDPAttention(embed_dims, num_heads, dropout)
        self.temporal_attn = None
        if temporal:
            with rng_stream(temporal_seed):
                self.temporal_attn = SDPAttention(embed_dims, num_heads,
                                                  dropout)
        self.ffn_v = FFN(embed_dims, feedforward_channels, ffn_drop=dropout)
        self.ffn_a = FFN(embed_dims, feedforward_channels, ffn_drop=dropout)
        self.norms = ModuleList(
            nn.LayerNorm(embed_dims) for _ in range(5 if temporal else 4))

    def forward(self, video: List[Tensor], audio: Tensor,
                video_pos: List[Tensor], audio_pos: Tensor,
                num_frames: int) -> tuple:
        """Update the streams.

        Args:
            video (list[Tensor]): Video tokens ``[N, L_l, C]`` per level.
            audio (Tensor): Audio query tokens ``[N, Nq, C]``.
            video_pos (list[Tensor]): Positions of ``video``.
            audio_pos (Tensor): Positions of ``audio``.
            num_frames (int): Frames per clip ``T`` (``N = B * T``).

        Returns:
            tuple: Updated ``video`` (list) and ``audio``.
        """
        sizes = [v.shape[1] for v in video]
        v = [self.norms[0](x) for x in video]
        a = self.norms[1](audio)
        v_all, v_pos_all = torch.cat(v, 1), torch.cat(video_pos, 1)
        # cross-attention is token-wise: all levels in one call
        from_audio = self.cross_attn_v(v_all, a, a, v_pos_all,
                                       audio_pos).split(sizes, 1)
        video = [
            x + self.self_attn_v(y, y, y, pos, pos) + cross
            for x, y, pos, cross in zip(video, v, video_pos, from_audio)
        ]
        audio = audio + self.self_attn_a(a, a, a, audio_pos, audio_pos) + \
            self.cross_attn_a(a, v_all, v_all, audio_pos, v_pos_all)
        if self.temporal_attn is not None:
            audio = audio + self._temporal(audio, audio_pos, num_frames)
        video = [
            self.ffn_v(self.norms[2](x), identity=x) for x in video
        ]
        audio = self.ffn_a(self.norms[3](audio), identity=audio)
        return video, audio

    def _temporal(self, audio: Tensor, audio_pos: Tensor,
                  num_frames: int) -> Tensor:
        """Self-attention over the ``T * Nq`` query tokens of each clip;
        returns the update ``[N, Nq, C]``."""
        num, num_queries, channels = audio.shape
        clip = self.norms[4](audio).reshape(-1, num_frames * num_queries,
                                            channels)
        pos = audio_pos.reshape(clip.shape)
        return self.temporal_attn(clip, clip, clip, pos,
                                  pos).reshape(num, num_queries, channels)


@MODELS.register_module()
class MultiModalityIntegration(BaseModule):
    """``num_layers`` MMI layers between the pixel decoder's maps and the
    audio query tokens.

    The ``num_levels`` coarsest maps are fused; each level's tokens get
    2-D sine positions plus a learned level embedding, the query tokens
    their ``query_pos`` plus a learned token-type embedding. The fused
    tokens replace those maps for the mask decoder, and the finest fused
    map, upsampled, gates the mask feature (``f + f * sigmoid(up(v))``).
    The caption memory is the fused tokens of the ``memory_levels``
    coarsest levels followed by the fused query tokens; its positions
    ``memory_pos`` are the positions the tokens had in MMI.

    Args:
        embed_dims (int): Token size ``C``.
        num_layers (int): Number of MMI layers ``N``. Defaults to 2.
        num_heads (int): Attention heads. Defaults to 8.
        feedforward_channels (int): FFN hidden size. Defaults to
            ``4 * embed_dims``.
        dropout (float): Attention and FFN dropout. Defaults to 0.
        num_levels (int): How many of the pixel decoder's coarsest maps to
            fuse (the segmentor fills in all of them, its ``num_outs``).
            Defaults to 3.
        memory_levels (int): How many of the coarsest fused levels go into
            the caption memory. Defaults to 1.
        temporal (bool): Self-attention over the query tokens of all
            frames of a clip in every layer (frames then see each other).
            Defaults to False.
    """

    def __init__(self,
                 embed_dims: int,
                 num_layers: int = 2,
                 num_heads: int = 8,
                 feedforward_channels: Optional[int] = None,
                 dropout: float = 0.0,
                 num_levels: int = 3,
                 memory_levels: int = 1,
                 temporal: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not 1 <= memory_levels <= num_levels:
            raise ValueError(f'memory_levels must be in 1..num_levels '
                             f'({num_levels}), got {memory_levels}')
        self.embed_dims = embed_dims
        self.num_levels = num_levels
        self.memory_levels = memory_levels
        self.temporal = temporal
        self.positional_encoding = SinePositionalEncoding(
            embed_dims // 2, normalize=True)
        self.level_embed = nn.Embedding(num_levels, embed_dims)
        self.query_type_embed = nn.Embedding(1, embed_dims)
        self.layers = ModuleList(
            MMILayer(embed_dims, num_heads, feedforward_channels or 4 *
                     embed_dims, dropout, temporal)
            for _ in range(num_layers))
        self.norm_v = nn.LayerNorm(embed_dims)
        self.norm_a = nn.LayerNorm(embed_dims)

    def forward(self, mask_features: Tensor, feats: List[Tensor],
                queries: Tensor, query_pos: Tensor,
                num_frames: int) -> Dict[str, object]:
        """Fuse the visual maps with the audio query tokens.

        Args:
            mask_features (Tensor): Pixel decoder mask feature
                ``[N, C, H/4, W/4]``.
            feats (list[Tensor]): Pixel decoder maps ``[N, C, h_l, w_l]``,
                low to high resolution.
            queries (Tensor): Audio query tokens ``[N, Nq, C]``.
            query_pos (Tensor): Their positions ``[N, Nq, C]``.
            num_frames (int): Frames per clip ``T`` (``N = B * T``).

        Returns:
            dict: ``mask_features`` (gated), ``feats`` (the fused maps, then
            the unfused finer ones), ``queries`` (fused) and ``query_pos``
            for the mask decoder; ``memory`` ``[N, L, C]`` and
            ``memory_pos`` ``[N, L, C]`` for the caption branch, ``L =
            sum of h_l * w_l over the memory levels + Nq``.
        """
        num_levels = self.num_levels
        if num_levels > len(feats):
            raise ValueError(f'MMI fuses {num_levels} levels but got '
                             f'{len(feats)} maps')
        video, video_pos = [], []
        for level, feat in enumerate(feats[:num_levels]):
            video.append(feat.flatten(2).transpose(1, 2))
            video_pos.append(self._sine(feat) +
                             self.level_embed.weight[level])
        # a token-type embedding tells the query tokens from video tokens
        audio_pos = query_pos + self.query_type_embed.weight
        for layer in self.layers:
            video, queries = layer(video, queries, video_pos, audio_pos,
                                   num_frames)
        video = [self.norm_v(v) for v in video]
        queries = self.norm_a(queries)
        maps = [
            v.transpose(1, 2).reshape(f.shape) for v, f in zip(video, feats)
        ]
        gate = F.interpolate(
            maps[-1],
            size=mask_features.shape[-2:],
            mode='bilinear',
            align_corners=False).sigmoid()
        memory_pos = video_pos[:self.memory_levels] + [audio_pos]
        return dict(
            mask_features=mask_features + mask_features * gate,
            feats=maps + list(feats[num_levels:]),
            queries=queries,
            query_pos=query_pos,
            memory=torch.cat(video[:self.memory_levels] + [queries], 1),
            memory_pos=torch.cat(memory_pos, 1))

    def _sine(self, feat: Tensor) -> Tensor:
        """2-D sine positions ``[N, h*w, C]`` of a map ``[N, C, h, w]``."""
        mask = feat.new_zeros((feat.shape[0], ) + feat.shape[-2:],
                              dtype=torch.bool)
        return self.positional_encoding(mask).flatten(2).transpose(1, 2)
