"""tools/analysis_tools/benchmark.py and get_flops.py (with the caption
branch) on tiny inputs. Only properties of the figures are checked, never
timings."""
import copy
import json
import math

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.runner import set_random_seed
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules

from rassu_mm.datasets.synthetic import make_synthetic_dataset
from rassu_mm.testing import (REPO_ROOT, demo_mm_inputs, load_tool,
                              repo_path)

SEG_CONFIG = repo_path('configs/ssuformer_demo_seg.py')
FULL_CONFIG = repo_path('configs/ssuformer_demo.py')

benchmark = load_tool('tools/analysis_tools/benchmark.py')
get_flops = load_tool('tools/analysis_tools/get_flops.py')
build_tokenizer = load_tool('tools/build_tokenizer.py')


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
    """A folder laid out like the repository's demo data: the demo configs'
    relative paths (``data/demo``, its audio cache and tokenizer) resolve in
    it once it is the working directory."""
    root = tmp_path_factory.mktemp('bench')
    data = root / 'data' / 'demo'
    ann = make_synthetic_dataset(
        str(data), num_clips=(8, 4, 4), progress=False)
    build_tokenizer.main([ann['train'], str(data / 'tokenizer')])
    return root


def _positive(value):
    return isinstance(value, float) and math.isfinite(value) and value > 0


def _check_result(res, phases=('train', 'infer')):
    assert res['params'] > 0
    if 'train' in phases:
        assert _positive(res['train_clips_per_s'])
        assert _positive(res['train_clips_per_s_median'])
        assert len(res['train_iter_s']) == res['iters']
        assert _positive(res['train_peak_mem_mib'])
    if 'infer' in phases:
        assert _positive(res['infer_clips_per_s'])
        assert _positive(res['infer_clips_per_s_median'])
        assert _positive(res['infer_peak_mem_mib'])
        assert res['infer_frames_per_s'] == pytest.approx(
            res['infer_clips_per_s'] * res['num_frames'])


def test_benchmark_real_data_seg_vs_full(workdir, monkeypatch, capsys):
    monkeypatch.chdir(workdir)
    out = workdir / 'bench.json'
    results = benchmark.main([
        SEG_CONFIG, FULL_CONFIG, '--iters', '1', '--warmup', '0',
        '--batch-size', '2', '--same-process', '--device', 'cpu', '--out',
        str(out)
    ])
    seg, full = results
    for res in results:
        _check_result(res)
        assert res['inputs'] == 'dataset'
        assert res['num_frames'] == 5  # the generated clips
        assert res['train_batch_size'] == res['infer_batch_size'] == 2
        assert res['memory_kind'] == 'process_rss'
    assert not seg['with_caption'] and full['with_caption']
    assert full['params'] > seg['params']
    table = capsys.readouterr().out
    assert '| Config' in table and 'Infer frames/s' in table
    rows = [line for line in table.splitlines() if line.startswith('| ssu')]
    assert [r.split('|')[1].strip() for r in rows] == [
        'ssuformer_demo_seg.py', 'ssuformer_demo.py'
    ]
    assert out.exists()


def test_benchmark_synthetic_inputs(workdir, monkeypatch, capsys):
    monkeypatch.chdir(workdir)
    results = benchmark.main([
        SEG_CONFIG, FULL_CONFIG, '--synthetic-inputs', '--num-frames', '2',
        '--shape', '32', '48', '--batch-size', '1', '--iters', '1',
        '--warmup', '0', '--same-process', '--device', 'cpu'
    ])
    for res in results:
        _check_result(res)
        assert res['inputs'] == 'synthetic'
        assert res['num_frames'] == 2 and res['frame_shape'] == [32, 48]
    assert results[1]['params'] > results[0]['params']
    assert 'ssuformer_demo.py' in capsys.readouterr().out


def test_benchmark_activation_memory_per_part(workdir, monkeypatch, capsys):
    monkeypatch.chdir(workdir)
    common = [
        FULL_CONFIG, '--synthetic-inputs', '--num-frames', '2', '--shape',
        '32', '32', '--batch-size', '1', '--phases', 'activations',
        '--device', 'cpu'
    ]
    plain, = benchmark.main(common)
    cp, = benchmark.main(common + [
        '--cfg-options', 'model.mask_collaboration.clip.with_cp=True'
    ])
    assert 'mask_collaboration' in capsys.readouterr().out
    parts, cp_parts = (r['activation_mib_per_frame_parts'] for r in (plain,
                                                                   cp))
    assert plain['activation_frames'] == 2
    assert all(parts[name] > 0 for name in ('backbone', 'pixel_decoder',
                                            'fusion', 'mask_collaboration'))
    assert plain['activation_mib_per_frame'] == pytest.approx(
        sum(parts.values()))
    # checkpointing the CLIP tower changes its part and nothing else
    assert cp_parts['mask_collaboration'] < parts['mask_collaboration']
    assert cp_parts['backbone'] == parts['backbone']


def test_benchmark_worker_process(workdir, monkeypatch):
    # with several configs each one is measured in a fresh process
    monkeypatch.chdir(workdir)
    argv = [
        SEG_CONFIG, SEG_CONFIG, '--synthetic-inputs', '--num-frames', '1',
        '--shape', '32', '32', '--batch-size', '1', '--iters', '1',
        '--warmup', '0', '--phases', 'infer', '--device', 'cpu'
    ]
    res = benchmark.run_worker(1, benchmark.parse_args(argv), argv)
    _check_result(res, phases=('infer', ))
    assert res['config'] == SEG_CONFIG and 'train_clips_per_s' not in res


def test_benchmark_against_another_checkout(workdir, monkeypatch, capsys):
    """--against: two worker processes, one step each in turn; here the
    other checkout is this one, so the training losses agree exactly
    (same seed, weights and batches)."""
    monkeypatch.chdir(workdir)
    res, = benchmark.main([
        SEG_CONFIG, '--against', REPO_ROOT, '--synthetic-inputs',
        '--num-frames', '1', '--shape', '32', '32', '--batch-size', '1',
        '--iters', '3', '--warmup', '1', '--phases', 'train', 'infer',
        '--device', 'cpu'
    ])
    for phase in ('train', 'infer'):
        this, ref = res[phase]['this'], res[phase]['ref']
        assert len(this['iter_s']) == len(ref['iter_s']) == 3
        assert all(_positive(t) for t in this['iter_s'] + ref['iter_s'])
        assert res[phase]['ratio'] == pytest.approx(
            ref['median_s'] / this['median_s'])
    assert res['train']['loss_max_abs_diff'] == 0
    assert '| train |' in capsys.readouterr().out
    with pytest.raises(SystemExit):
        benchmark.parse_args([SEG_CONFIG, FULL_CONFIG, '--against', 'HEAD'])


def test_benchmark_rejects_amp_on_cpu():
    with pytest.raises(SystemExit):
        benchmark.parse_args([SEG_CONFIG, '--amp', '--device', 'cpu'])


def test_benchmark_accepts_bfloat16_amp_on_cpu():
    args = benchmark.parse_args([
        SEG_CONFIG, '--amp', '--amp-dtype', 'bfloat16', '--device', 'cpu'
    ])
    assert args.amp and args.amp_dtype == 'bfloat16'


def test_flops_of_a_linear_step_and_mfu():
    """A Linear layer's forward is 2 * N * in * out FLOPs, its backward
    twice that (input and weight gradients); checkpointing reruns the
    forward in the backward pass, counted apart (through
    ``torch.utils.checkpoint`` and through a module that imported the
    name: rassu_mm's ``checkpoint_layers``). The rerun stops once every
    tensor kept for the backward pass is back (torch's early stop): the
    second Linear's inputs are kept before its product is computed, so
    only the first Linear is recomputed."""
    from rassu_mm.models.utils.checkpointing import checkpoint_layers
    torch.manual_seed(0)
    layer = torch.nn.Sequential(
        torch.nn.Linear(8, 6), torch.nn.Tanh(), torch.nn.Linear(6, 4))
    first, forward = 2 * 5 * 8 * 6, 2 * 5 * (8 * 6 + 6 * 4)

    def step(batch):
        x = batch['x'].clone().requires_grad_()
        batch['fn'](x).sum().backward()

    def checkpointed(x):
        return torch.utils.checkpoint.checkpoint(
            layer, x, use_reentrant=False)

    batch = dict(x=torch.randn(5, 8), fn=layer)
    assert benchmark.count_flops(step, batch) == (3 * forward, 0)
    batch['fn'] = checkpointed
    assert benchmark.count_flops(step, batch) == (3 * forward, first)
    checkpoint_layers([layer])
    batch['fn'] = layer
    assert benchmark.count_flops(step, batch) == (3 * forward, first)
    # outside the counting checkpoint is itself again
    assert torch.utils.checkpoint.checkpoint.__module__ == \
        'torch.utils.checkpoint'
    with torch.no_grad():  # inference: forward only
        assert benchmark.count_flops(lambda b: layer(b['x']),
                                     batch) == (forward, 0)
    # 960 FLOPs over a median step of 2 ns: 0.48 TFLOP/s, 96 % of 0.5
    figures = benchmark.flops_figures('train', 960, 320, [4e-9, 1e-9, 2e-9],
                                      0.5)
    assert figures == dict(
        train_flops=960,
        train_recompute_flops=320,
        train_tflops_per_s=pytest.approx(0.48),
        train_mfu=pytest.approx(0.96))
    assert benchmark.flops_figures('infer', 960, 0, [2e-9],
                                   None)['infer_mfu'] is None


def test_peak_tflops_by_device(monkeypatch):
    def peak(name, *argv, device='cuda'):
        monkeypatch.setattr(torch.cuda, 'get_device_name', lambda d: name)
        args = benchmark.parse_args([SEG_CONFIG, '--device', 'cpu', *argv])
        return benchmark.peak_tflops(args, torch.device(device))

    amp = ['--amp', '--amp-dtype', 'bfloat16']
    assert peak('NVIDIA H100 80GB HBM3', *amp) == 989
    assert peak('NVIDIA H100 80GB HBM3') == 67  # float32
    assert peak('NVIDIA H100 PCIe', *amp) == 756
    assert peak('NVIDIA H200', *amp) == 989
    assert peak('NVIDIA A100-SXM4-80GB', *amp) == 312
    assert peak('NVIDIA A100-SXM4-80GB') == 19.5
    assert peak('Some GPU', *amp) is None
    assert peak('NVIDIA H200', *amp, device='cpu') is None
    assert peak('NVIDIA H200', '--peak-tflops', '123.5') == 123.5
    assert peak('-', '--peak-tflops', '2', device='cpu') == 2


def test_out_of_memory_is_recorded():
    def measure():
        raise benchmark.OUT_OF_MEMORY('CUDA out of memory. Tried to '
                                      'allocate 2 GiB\nmore details')

    assert benchmark.out_of_memory(
        'train', measure, train_batch_size=4) == dict(
            train_batch_size=4,
            train_oom='CUDA out of memory. Tried to allocate 2 GiB')
    assert benchmark.out_of_memory('infer', lambda: dict(a=1)) == dict(a=1)
    with pytest.raises(ValueError):
        benchmark.out_of_memory('infer', lambda: int('x'))


def test_checkpointing_switches_of_the_configs():
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
    demo = Config.fromfile(FULL_CONFIG)
    assert sorted(benchmark.checkpointing_switches(demo)) == [
        'backbone', 'mask_collaboration.clip'
    ]  # the demo's FPN pixel decoder has no switch
    paper = Config.fromfile(repo_path('configs/ssuformer_f_music.py'))
    switches = benchmark.checkpointing_switches(paper)
    assert sorted(switches) == [
        'backbone', 'mask_collaboration.clip', 'pixel_decoder'
    ]
    assert switches['backbone'] is paper.model.backbone
    assert benchmark.checkpointing_switches(Config.fromfile(SEG_CONFIG)) \
        == dict(backbone=Config.fromfile(SEG_CONFIG).model.backbone)


def test_get_flops_counts_the_caption_branch(workdir, monkeypatch, capsys):
    monkeypatch.chdir(workdir)
    args = ['--shape', '32', '32', '--num-frames', '2']
    seg = get_flops.main([SEG_CONFIG, *args])
    full_seg_path = get_flops.main(
        [FULL_CONFIG, *args, '--caption-length', '0'])
    full = get_flops.main([FULL_CONFIG, *args, '--caption-length', '6'])
    longer = get_flops.main([FULL_CONFIG, *args, '--caption-length', '12'])
    out = capsys.readouterr().out
    assert 'segmentation + caption branch, 6 caption tokens' in out
    assert seg['caption_length'] == 0 and full['caption_length'] == 6
    # the same segmentation path in both demo configs
    assert full_seg_path['flops'] == seg['flops'] > 0
    assert full['flops'] > seg['flops']
    assert full['params'] > seg['params'] == full['components']['backbone'][
        0] + sum(p for name, (p, _) in seg['components'].items()
                 if name != 'backbone')
    for name in ('mask_collaboration', 'caption_head'):
        assert full['components'][name][0] > 0
        assert full['components'][name][1] > 0
        assert full_seg_path['components'][name][1] == 0
    # the decoder pass grows with the caption length, the rest does not
    assert longer['flops'] > full['flops']
    assert (longer['components']['mask_collaboration'][1] ==
            full['components']['mask_collaboration'][1])


def test_tensor_mode_caption_outputs(workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    register_all_modules(init_default_scope=True)
    model = MODELS.build(Config.fromfile(FULL_CONFIG).model).eval()
    data = model.data_preprocessor(
        demo_mm_inputs(num_frames=2, with_gt=False, zeros=True), False)
    with torch.no_grad():
        plain = model._forward(data['inputs'])
        with_caption = model._forward(data['inputs'], data['data_samples'],
                                      caption_length=5)
    assert len(plain) == 2  # export-friendly default: segmentation only
    assert len(with_caption) == 3
    torch.testing.assert_close(plain[0], with_caption[0])
    logits = with_caption[2]
    assert logits.shape == (2, 5, model.caption_head.tokenizer.vocab_size)
    assert torch.isfinite(logits).all()
    seg_model = MODELS.build(Config.fromfile(SEG_CONFIG).model).eval()
    with pytest.raises(ValueError, match='caption_head'):
        seg_model._forward(data['inputs'], caption_length=5)


def test_benchmark_video_inference_reports_every_stage(
        tmp_path, capsys, monkeypatch):
    """Two short generated videos, each inferred in its own process with
    outputs and then alone: the figures are consistent with each other."""
    monkeypatch.chdir(REPO_ROOT)  # the tool moves there; restored after
    bench = load_tool('tools/analysis_tools/benchmark_video_inference.py')
    results = bench.main([
        '--lengths', '2', '3', '--size', '64x48', '--fps', '4',
        '--audio-rate', '16000', '--threads', '1', '--work-dir',
        str(tmp_path), '--out',
        str(tmp_path / 'results.json')
    ])
    assert [r['seconds'] for r in results] == pytest.approx([2, 3], abs=0.1)
    assert [r['predicted_frames'] for r in results] == [2, 3]
    for r in results:
        assert {'decode', 'model', 'render', 'encode'} <= set(r['timings_s'])
        assert _positive(r['model_only_s'])
        assert r['end_to_end_over_model'] == pytest.approx(
            r['total_s'] / r['model_only_s'])
        assert r['model_share'] == pytest.approx(
            1 / r['end_to_end_over_model'])
        assert r['peak_rss_mib'] >= r['rss_after_model_mib'] > 0
        assert r['torch_threads'] == 1
    table = capsys.readouterr().out.splitlines()[-4:]
    assert table[0].startswith('| Video | Video s/s | End-to-end s |')
    assert table[2].startswith('| 2 s |') and table[3].endswith('x |')
    outputs = tmp_path / 'outputs' / 'video_3s_64x48_4fps'
    assert (outputs / 'overlay.mp4').is_file()
    assert len(list((outputs / 'masks').iterdir())) == 3


def test_benchmark_compile_needs_the_train_phase():
    with pytest.raises(SystemExit):
        benchmark.parse_args([SEG_CONFIG, '--compile', '--phases', 'infer'])


@pytest.mark.slow
def test_benchmark_compiled_training_step(workdir, monkeypatch, capsys):
    # MMEngine's compile=True compiles train_step as a whole: the host-side
    # parts of the mask losses run eagerly (torch.compiler.disable)
    monkeypatch.chdir(workdir)
    res, = benchmark.main([
        SEG_CONFIG, '--synthetic-inputs', '--num-frames', '1', '--shape',
        '32', '32', '--batch-size', '1', '--phases', 'train', '--iters',
        '1', '--warmup', '0', '--compile', '--device', 'cpu',
        '--cfg-options', 'compile.backend=eager'
    ])
    assert _positive(res['compile_speedup'])
    assert len(res['train_compiled_iter_s']) == 1
    assert 'eager / compiled' in capsys.readouterr().out


def test_mask2former_peer_has_ssuformers_decoder_and_trains(workdir,
                                                            monkeypatch):
    """benchmark_mask2former.py: the mmseg Mask2Former built from the demo
    config has SSUFormer's decoder sizes, point sampling, losses and match
    costs (read back from both built models), both models take a training
    step on the same frames, and the tool's JSON holds the timings."""
    monkeypatch.chdir(workdir)
    tool = load_tool('tools/analysis_tools/benchmark_mask2former.py')
    cfg = tool.load_config(tool.parse_args([SEG_CONFIG]))
    set_random_seed(0)
    models = tool.build_models(cfg, torch.device('cpu'))
    ssu, peer = models['ssuformer'], models['mask2former']
    head, peer_head = ssu.decode_head, peer.decode_head
    assert type(peer).__name__ == 'EncoderDecoder'
    assert type(peer_head).__module__ == 'mmseg.models.decode_heads.' \
        'mask2former_head'
    decoder_cfg = cfg.model.decode_head.transformer_decoder
    layers, peer_layers = (h.transformer_decoder.layers
                           for h in (head, peer_head))
    assert len(layers) == len(peer_layers) == decoder_cfg.num_layers == 2
    for layer, peer_layer in zip(layers, peer_layers):
        assert (peer_layer.self_attn.num_heads == layer.self_attn.num_heads
                == decoder_cfg.layer_cfg.self_attn_cfg.num_heads)
        assert (peer_layer.cross_attn.num_heads ==
                layer.cross_attn.num_heads ==
                decoder_cfg.layer_cfg.cross_attn_cfg.num_heads)
        assert (peer_layer.ffn.feedforward_channels ==
                layer.ffn.feedforward_channels ==
                decoder_cfg.layer_cfg.ffn_cfg.feedforward_channels)
        assert (peer_layer.self_attn.embed_dims == layer.self_attn.embed_dims
                == cfg.model.embed_dims)
    assert (peer_head.num_queries == peer_head.query_feat.num_embeddings ==
            head.num_queries == cfg.model.num_queries)
    assert (peer_head.num_transformer_feat_level ==
            head.num_transformer_feat_level == ssu.pixel_decoder.num_outs)
    for name in ('num_points', 'oversample_ratio', 'importance_sample_ratio'):
        assert getattr(peer_head, name) == getattr(head, name)
    assert peer_head.num_points == cfg.model.decode_head.train_cfg.num_points
    # the losses: types and weights; the no-object weight is the last
    assert peer_head.class_weight == pytest.approx(head.class_weight.tolist())
    assert peer_head.class_weight[-1] == pytest.approx(0.1)
    for name, attrs in (('loss_cls', ('loss_weight', 'use_sigmoid')),
                        ('loss_mask', ('loss_weight', 'gamma', 'alpha')),
                        ('loss_dice', ('loss_weight', 'eps', 'naive_dice'))):
        loss, peer_loss = getattr(head, name), getattr(peer_head, name)
        assert type(peer_loss) is type(loss)
        for attr in attrs:
            assert getattr(peer_loss, attr) == getattr(loss, attr)
    assert type(head.loss_mask).__name__ == 'FocalLoss'
    costs, peer_costs = head.assigner.match_costs, \
        peer_head.assigner.match_costs
    assert [type(c) for c in peer_costs] == [type(c) for c in costs]
    assert [vars(c) for c in peer_costs] == [vars(c) for c in costs]
    # the same pixel decoder and shared weights
    assert type(peer_head.pixel_decoder) is type(ssu.pixel_decoder)
    torch.testing.assert_close(peer_head.pixel_decoder.state_dict(),
                               ssu.pixel_decoder.state_dict())
    torch.testing.assert_close(peer.backbone.state_dict(),
                               ssu.backbone.state_dict())
    # SSUFormer's extra parameters: audio encoder, query generator and
    # MMI; the peer's: its learned query features and positions
    counts = {name: tool.params(m)['params'] for name, m in models.items()}
    audio_and_mmi = sum(
        tool.params(m)['params']
        for m in (ssu.audio_encoder, ssu.query_generator, ssu.fusion))
    assert counts['mask2former'] == (counts['ssuformer'] - audio_and_mmi +
                                     2 * head.num_queries *
                                     cfg.model.embed_dims)

    args = tool.parse_args([
        SEG_CONFIG, '--synthetic-inputs', '--num-frames', '2', '--shape',
        '32', '32', '--batch-size', '2', '--warmup', '0', '--iters', '1'
    ])
    clips = tool.load_clip_batches(cfg, ssu, args)[0]
    frames = tool.frame_batch(clips)
    assert len(frames['inputs']) == len(frames['data_samples']) == 4
    torch.testing.assert_close(frames['inputs'][3],
                               clips['inputs']['frames'][1][1])
    torch.testing.assert_close(frames['data_samples'][3].gt_sem_seg.data[0],
                               clips['data_samples'][1].gt_sem_seg.data[1])
    for model, batch in ((ssu, clips), (peer, frames)):
        before = next(model.backbone.parameters()).detach().clone()
        optim = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
        log_vars = model.train_step(batch, optim)
        assert math.isfinite(float(log_vars['loss'].detach()))
        assert {'decode.loss_cls', 'decode.loss_mask',
                'decode.loss_dice'} <= set(log_vars)
        assert not torch.equal(before, next(model.backbone.parameters()))

    out = workdir / 'mask2former.json'
    res = tool.main([
        SEG_CONFIG, '--batch-size', '1', '--warmup', '1', '--iters', '1',
        '--profile', '1', '--threads', str(torch.get_num_threads()),
        '--device', 'cpu', '--out',
        str(out)
    ])
    assert json.loads(out.read_text()) == json.loads(json.dumps(res))
    assert res['inputs'] == 'dataset' and res['frames_per_clip'] == 5
    assert res['pixel_decoder_type'] == 'FPNPixelDecoder'
    for name in ('ssuformer', 'mask2former'):
        assert len(res[name]['iter_s']) == 1
        assert _positive(res[name]['median_s'])
        assert res[name]['params'] == counts[name]
        prof = res[name]['profile']
        assert {'backbone', 'pixel decoder', 'mask losses',
                'backward'} <= set(prof['parts_s'])
        assert all(s >= 0 for s in prof['parts_s'].values())
    assert 'MMI' in res['ssuformer']['profile']['parts_s']
    assert 'MMI' not in res['mask2former']['profile']['parts_s']
    assert res['ratio'] == pytest.approx(res['ssuformer']['median_s'] /
                                         res['mask2former']['median_s'])
    assert res['load_avg_start'] >= 0 and res['load_avg_end'] >= 0
