"""AudioQueryGenerator and MultiModalityIntegration (MMI)."""
import pytest
import torch

from rassu_mm.models import AudioQueryGenerator, MultiModalityIntegration

C = 32
SIZES = (2, 4, 8)  # 1/32, 1/16, 1/8 of a 64 px frame, low to high


def mmi_inputs(num=2, num_queries=5, seed=0):
    """Mask feature [N, C, 16, 16], three maps, queries and positions."""
    gen = torch.Generator().manual_seed(seed)
    return dict(
        mask_features=torch.randn(num, C, 16, 16, generator=gen),
        feats=[torch.randn(num, C, s, s, generator=gen) for s in SIZES],
        queries=torch.randn(num, num_queries, C, generator=gen),
        query_pos=torch.randn(num, num_queries, C, generator=gen))


def build_mmi(**kwargs):
    torch.manual_seed(0)
    return MultiModalityIntegration(
        embed_dims=C, num_layers=2, num_heads=4, **kwargs).eval()


def fuse(mmi, x, num_frames=1):
    return mmi(x['mask_features'], x['feats'], x['queries'], x['query_pos'],
               num_frames)


class TestFusion:

    def test_query_generator_depends_on_audio(self):
        gen = AudioQueryGenerator(in_channels=16, embed_dims=32, num_queries=5)
        queries, pos = gen(torch.randn(3, 16))
        assert queries.shape == pos.shape == (3, 5, 32)
        assert (queries[0] - queries[1]).abs().max() > 1e-3
        torch.testing.assert_close(pos[0], pos[1])

    @pytest.mark.parametrize('memory_levels', [1, 2])
    def test_shapes(self, memory_levels):
        out = fuse(build_mmi(memory_levels=memory_levels), mmi_inputs())
        assert [f.shape for f in out['feats']
                ] == [(2, C, s, s) for s in SIZES]
        assert out['mask_features'].shape == (2, C, 16, 16)
        assert out['queries'].shape == out['query_pos'].shape == (2, 5, C)
        length = sum(s * s for s in SIZES[:memory_levels]) + 5
        assert out['memory'].shape == out['memory_pos'].shape == (2, length,
                                                                  C)
        # memory: the coarsest fused levels, then the fused queries
        torch.testing.assert_close(out['memory'][:, :4],
                                   out['feats'][0].flatten(2).transpose(1, 2))
        torch.testing.assert_close(out['memory'][:, -5:], out['queries'])

    def test_unfused_levels_pass_through(self):
        x = mmi_inputs()
        out = fuse(build_mmi(num_levels=2), x)
        assert out['feats'][2] is x['feats'][2]

    def test_audio_reaches_every_level(self):
        """The same frame with different audio gives different fused tokens
        on every level and a different mask feature."""
        x = mmi_inputs()
        for key in ('mask_features', ):
            x[key] = x[key][:1].expand(2, -1, -1, -1)
        x['feats'] = [f[:1].expand(2, -1, -1, -1) for f in x['feats']]
        out = fuse(build_mmi(), x)
        for feat in out['feats'] + [out['mask_features']]:
            assert (feat[0] - feat[1]).abs().max() > 1e-3

    def test_audio_tokens_read_every_level(self):
        """The query tokens depend on every video token of every level, but
        only through LayerNorm: their gradient w.r.t. each video token is
        non-zero and orthogonal to a constant shift of that token (sums to
        0 over C)."""
        x = mmi_inputs(num=1)
        for feat in x['feats']:
            feat.requires_grad_(True)
        out = fuse(build_mmi(), x)
        (out['queries'] * torch.randn_like(out['queries'])).sum().backward()
        for feat in x['feats']:
            grad = feat.grad  # [1, C, h, w]
            assert grad.abs().amax(dim=1).min() > 1e-5
            torch.testing.assert_close(
                grad.sum(dim=1),
                torch.zeros_like(grad[:, 0]),
                rtol=0,
                atol=1e-5)

    def test_memory_positions(self):
        """Video tokens: 2-D sine positions + their level's embedding;
        query tokens: query_pos + one token-type embedding."""
        mmi = build_mmi(memory_levels=2)
        x = mmi_inputs()
        out = fuse(mmi, x)
        pos = out['memory_pos']
        offset = 0
        for level, feat in enumerate(x['feats'][:2]):
            length = feat.shape[-1]**2
            torch.testing.assert_close(
                pos[:, offset:offset + length],
                mmi._sine(feat) + mmi.level_embed.weight[level])
            offset += length
        torch.testing.assert_close(
            pos[:, offset:],
            x['query_pos'] + mmi.query_type_embed.weight.expand(5, -1))
        # the sine part tells the tokens of a level apart
        assert (pos[0, 0] - pos[0, 1]).abs().max() > 1e-2

    @pytest.mark.parametrize('temporal', [False, True])
    def test_temporal_interaction(self, temporal):
        """Two clips of two frames: frame 0 depends on frame 1 of its clip
        only with ``temporal=True``; the other clip never."""
        mmi = build_mmi(temporal=temporal)
        x = mmi_inputs(num=4)
        y = mmi_inputs(num=4, seed=1)
        changed = dict(x, queries=x['queries'].clone())
        changed['queries'][1] = y['queries'][1]
        changed['feats'] = [f.clone() for f in x['feats']]
        for f, g in zip(changed['feats'], y['feats']):
            f[1] = g[1]
        with torch.no_grad():
            out = fuse(mmi, x, num_frames=2)
            out_changed = fuse(mmi, changed, num_frames=2)
        for key in ('queries', 'memory'):
            torch.testing.assert_close(
                out[key][2:], out_changed[key][2:], rtol=0, atol=1e-6)
            diff = (out[key][0] - out_changed[key][0]).abs().max()
            if temporal:
                assert diff > 1e-3
            else:
                torch.testing.assert_close(
                    diff, torch.tensor(0.), rtol=0, atol=1e-6)

    def test_level_checks(self):
        with pytest.raises(ValueError, match='memory_levels'):
            MultiModalityIntegration(embed_dims=C, num_levels=2,
                                     memory_levels=3)
        x = mmi_inputs()
        x['feats'] = x['feats'][:2]
        with pytest.raises(ValueError, match='fuses 3 levels'):
            fuse(build_mmi(), x)
