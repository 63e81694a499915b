"""tools/misc/print_config.py, tools/misc/publish_model.py and
tools/analysis_tools/analyze_logs.py on the repository's configs and on the
json log of a real (tiny) training run."""
import hashlib
import json
import os
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmseg.registry import MODELS
from rassu_mm.apis import SSUInferencer
from rassu_mm.datasets.synthetic import make_synthetic_dataset
from rassu_mm.testing import (demo_runner_cfg, load_tool, repo_path,
                              tiny_model_cfg)
from rassu_mm.utils import KEYS_FROM_INIT_WEIGHTS, load_model_weights

print_config = load_tool('tools/misc/print_config.py')
publish_model = load_tool('tools/misc/publish_model.py')
analyze_logs = load_tool('tools/analysis_tools/analyze_logs.py')
test_tool = load_tool('tools/test.py')

S4_CONFIG = repo_path(
    'configs', 'avsbench',
    'ssuformer_pvtv2-b5_1xb4-26k_avsbench-s4-224x224.py')


# ------------------------------------------------------------ print_config
def test_print_config_merges_options_and_dumps(tmp_path, capsys):
    dump = tmp_path / 'full.py'
    print_config.main([
        S4_CONFIG, '--cfg-options', 'model.num_queries=7', '--dump',
        str(dump)
    ])
    out = capsys.readouterr().out
    assert out.startswith('Config:\n') and 'num_queries=7' in out
    cfg = Config.fromfile(str(dump))
    # the dump is complete: no _base_ left, inherited values present
    assert cfg.model.num_queries == 7
    assert cfg.train_dataloader.dataset.data_root == 'data/avsbench_s4'
    assert cfg.val_evaluator.avsbench_compat


def test_print_config_graph_builds_the_model(capsys):
    """The graph is the module tree of the model built from the merged
    config: the options show in it."""
    config = repo_path('configs', 'ssuformer_demo_seg.py')
    print_config.main([
        config, '--graph', '--cfg-options',
        'model.audio_encoder.embed_dims=24'
    ])
    out = capsys.readouterr().out
    cfg = Config.fromfile(config)
    cfg.merge_from_dict({'model.audio_encoder.embed_dims': 24})
    expected = str(MODELS.build(cfg.model))
    assert out.endswith(f'\nModel graph:\n{expected}\n')
    assert 'in_features=24' in expected  # the query generator reads 24


# ----------------------------------------------------------- publish_model
def frozen_backbone_cfg(tmp_path, pretrained=True):
    """The tiny demo segmentation model with its stem and first stage
    frozen; ``pretrained``: they load from a file in ``init_weights``."""
    cfg = tiny_model_cfg('ssuformer_demo_seg.py')
    cfg.backbone.frozen_stages = 1
    if pretrained:
        torch.manual_seed(0)
        path = str(tmp_path / 'backbone.pth')
        torch.save(MODELS.build(cfg.backbone).state_dict(), path)
        cfg.backbone.init_cfg = dict(type='Pretrained', checkpoint=path)
    return cfg


def trained_checkpoint(cfg, path):
    """A runner-style checkpoint of a model 'trained' away from its init."""
    torch.manual_seed(1)
    model = MODELS.build(cfg)
    model.init_weights()
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(0.5)
    torch.save(
        dict(
            meta=dict(iter=10, seed=0),
            state_dict=model.state_dict(),
            optimizer=dict(state={}, param_groups=[dict(lr=0.1)]),
            param_schedulers=[dict(last_step=10)],
            message_hub=dict(log_scalars={})), path)
    return model


def test_publish_drops_resume_state_and_hashes_the_name(tmp_path):
    cfg = frozen_backbone_cfg(tmp_path)
    trained = trained_checkpoint(cfg, tmp_path / 'iter_10.pth')
    final = publish_model.publish(
        str(tmp_path / 'iter_10.pth'), str(tmp_path / 'model.pth'))
    assert re.fullmatch(r'model-[0-9a-f]{8}\.pth', final.split('/')[-1])
    with open(final, 'rb') as f:
        assert hashlib.sha256(f.read()).hexdigest()[:8] == final[-12:-4]
    ckpt = torch.load(final, weights_only=True)
    assert set(ckpt) == {'meta', 'state_dict'}
    assert ckpt['meta'] == dict(iter=10, seed=0)
    assert set(ckpt['state_dict']) == set(trained.state_dict())


def stripped_checkpoint(tmp_path, cfg):
    """A 'trained' runner checkpoint of ``cfg`` and its published file
    without the frozen weights; returns (trained model, published path)."""
    trained = trained_checkpoint(cfg, tmp_path / 'iter_10.pth')
    publish_model.main([
        str(tmp_path / 'iter_10.pth'),
        str(tmp_path / 'model.pth'), '--strip-frozen',
        str(_write_config(tmp_path, cfg))
    ])
    return trained, str(next(tmp_path.glob('model-*.pth')))


def test_published_file_without_frozen_weights_reloads_them_from_init(
        tmp_path):
    cfg = frozen_backbone_cfg(tmp_path)
    trained, final = stripped_checkpoint(tmp_path, cfg)
    ckpt = torch.load(final, weights_only=True)
    dropped = ckpt['meta'][KEYS_FROM_INIT_WEIGHTS]
    # exactly the frozen stem and first stage (parameters and BN buffers)
    assert dropped and all(
        k.startswith(('backbone.stem.', 'backbone.layer1.')) for k in dropped)
    assert set(dropped) == {
        k
        for k in trained.state_dict()
        if k.startswith(('backbone.stem.', 'backbone.layer1.'))
    }
    assert not set(dropped) & set(ckpt['state_dict'])
    # a model built from the config gets them back from init_weights
    torch.manual_seed(2)
    model = MODELS.build(cfg)
    load_model_weights(model, ckpt, final)
    expected = trained.state_dict()
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, expected[key], rtol=0, atol=0)


def test_test_tool_and_inferencer_load_published_files(
        tmp_path, monkeypatch):
    """tools/test.py and SSUInferencer run init_weights for a published
    file: the same weights, hence the same metrics, as the full file."""
    cfg = frozen_backbone_cfg(tmp_path)
    # pretrained weights unlike any seeded initialisation
    pretrained = torch.load(cfg.backbone.init_cfg.checkpoint)
    torch.save({k: v + 0.25 if v.is_floating_point() else v
                for k, v in pretrained.items()},
               cfg.backbone.init_cfg.checkpoint)
    trained, stripped = stripped_checkpoint(tmp_path, cfg)
    full = str(tmp_path / 'full.pth')
    torch.save(dict(meta={}, state_dict=trained.state_dict()), full)
    make_synthetic_dataset(
        str(tmp_path / 'data'), num_clips=(2, 2, 3), progress=False)
    runner_cfg = demo_runner_cfg(str(tmp_path / 'data'))
    runner_cfg.model = cfg
    config = str(tmp_path / 'cfg.py')
    runner_cfg.dump(config)

    inferencer = SSUInferencer(config, stripped, device='cpu')
    for key, value in inferencer.model.state_dict().items():
        torch.testing.assert_close(
            value, trained.state_dict()[key], rtol=0, atol=0)

    def start_test(checkpoint, name):
        with open(tmp_path / f'{name}.log', 'w') as log:
            return subprocess.Popen([
                sys.executable,
                repo_path('tools/test.py'), config, checkpoint, '--work-dir',
                str(tmp_path / name)
            ],
                                    cwd=str(tmp_path),
                                    stdout=log,
                                    stderr=subprocess.STDOUT)

    def test_metrics(proc, name):
        log = tmp_path / f'{name}.log'
        assert proc.wait() == 0, log.read_text()[-3000:]
        (path, ) = [
            p for p in (tmp_path / name).glob('*/*.json')
            if p.stem == p.parent.name
        ]
        metrics = json.loads(path.read_text())
        return {k: metrics[k] for k in ('mIoU', 'F-score')}

    # the two tests side by side
    procs = {name: start_test(path, name)
             for name, path in (('stripped', stripped), ('full', full))}
    assert test_metrics(procs['stripped'], 'stripped') == test_metrics(
        procs['full'], 'full')
    # without its pretrained file the published file cannot be tested: the
    # pre-flight check exits with one message (no traceback)
    os.remove(cfg.backbone.init_cfg.checkpoint)
    monkeypatch.setattr(sys, 'argv', ['tools/test.py', config, stripped])
    with pytest.raises(SystemExit, match='backbone.pth'):
        test_tool.main()


def test_strip_frozen_refuses_weights_that_only_the_checkpoint_has(
        tmp_path):
    cfg = frozen_backbone_cfg(tmp_path, pretrained=False)
    with pytest.raises(
            ValueError,
            match=r"\['backbone.layer1', 'backbone.stem'\] have no pretr"):
        publish_model.reloadable_frozen_prefixes(MODELS.build(cfg))


def test_load_published_names_keys_that_do_not_match(tmp_path):
    cfg = frozen_backbone_cfg(tmp_path)
    _, final = stripped_checkpoint(tmp_path, cfg)
    ckpt = torch.load(final, weights_only=True)
    ckpt['state_dict'].pop('query_generator.query_feat.weight')
    with pytest.raises(KeyError, match='other.pth does not match the model: '
                       r"missing keys \['query_generator.query_feat.weight'"):
        load_model_weights(MODELS.build(cfg), ckpt, 'other.pth')


def _write_config(tmp_path, model_cfg):
    path = tmp_path / 'model_cfg.py'
    Config(dict(model=model_cfg)).dump(str(path))
    return path


# ------------------------------------------------------------ analyze_logs
@pytest.fixture(scope='module')
def json_log(tmp_path_factory):
    """scalars.json of 4 iterations of the tiny demo model, validated at
    iterations 2 and 4, logged every iteration."""
    root = tmp_path_factory.mktemp('logs')
    make_synthetic_dataset(
        str(root / 'data'), num_clips=(4, 2, 2), progress=False)
    cfg = demo_runner_cfg(str(root / 'data'))
    cfg.model = tiny_model_cfg('ssuformer_demo_seg.py')
    cfg.train_dataloader.batch_size = 2
    cfg.train_cfg.update(max_iters=4, val_interval=2)
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint = None
    cfg.work_dir = str(root / 'work')
    Runner.from_cfg(cfg).train()
    return str(next((root / 'work').glob('*/vis_data/scalars.json')))


def test_analyze_logs_reads_runner_logs(json_log):
    series = analyze_logs.load_json_log(json_log)
    assert [s for s, _ in series['loss']] == [1, 2, 3, 4]
    assert [s for s, _ in series['mIoU']] == [2, 4]
    with open(json_log) as f:
        lines = [json.loads(line) for line in f]
    assert series['mIoU'][-1][1] == [
        line['mIoU'] for line in lines if 'mIoU' in line
    ][-1]


def test_analyze_logs_plot_curve_and_summary(json_log, tmp_path, capsys):
    out = tmp_path / 'curves.png'
    analyze_logs.main(
        ['plot_curve', json_log, '--keys', 'loss', 'mIoU', '--out',
         str(out)])
    assert out.stat().st_size > 0
    text = capsys.readouterr().out
    series = analyze_logs.load_json_log(json_log)
    losses = [v for _, v in series['loss']]
    best = min(range(4), key=lambda i: losses[i])
    assert f'best {losses[best]:.4f} (step {best + 1})' in text
    assert f'loss: last {losses[-1]:.4f} (step 4)' in text
    with pytest.raises(KeyError, match='no \\[.BLEU-4.\\]'):
        analyze_logs.main(['plot_curve', json_log, '--keys', 'BLEU-4'])


def test_analyze_logs_train_time(json_log, capsys):
    analyze_logs.main(['cal_train_time', json_log])
    text = capsys.readouterr().out
    series = analyze_logs.load_json_log(json_log)
    train_steps = {s for s, _ in series['loss']}
    times = [t for s, t in series['time'] if s in train_steps]
    assert f'average iteration time: {sum(times) / len(times):.4f}' in text


def test_analyze_logs_rejects_other_files(tmp_path):
    bad = tmp_path / 'x.json'
    bad.write_text('{"loss": 1.0}\n')
    with pytest.raises(ValueError, match='x.json:1: not an MMEngine'):
        analyze_logs.load_json_log(str(bad))
