"""The paper configs build, count FLOPs and predict from a checkpoint with
no network (``HF_HUB_OFFLINE=1``) and no pretrained files: CLIP ViT-B/16 is
built from the sizes in the config, pretrained weights are only read by
``init_weights`` (training)."""
import os
import os.path as osp
import subprocess
import sys
import textwrap

import pytest

from rassu_mm.testing import REPO_ROOT, write_caption_tokenizer

CAPTIONS = ['the violin on the left is playing.']
CONFIGS = ['configs/ssuformer_f_music.py', 'configs/ssuformer_f_lifescene.py']


def _python(code, cwd):
    """Run ``code`` in a fresh offline interpreter with cwd ``cwd`` (no
    ``pretrain/`` there)."""
    env = dict(os.environ, HF_HUB_OFFLINE='1', PYTHONPATH=REPO_ROOT)
    proc = subprocess.run([sys.executable, '-c', textwrap.dedent(code)],
                          cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


BUILD = """
import json
import torch
from mmengine.config import Config
import rassu_mm  # noqa: F401
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules
register_all_modules()
cfg = Config.fromfile({config!r})
cfg.model.caption_head.tokenizer = {tokenizer!r}
cfg.model.caption_head.generation = dict(strategy='greedy', max_length=3)
torch.manual_seed(0)
model = MODELS.build(cfg.model)
clip = model.mask_collaboration.clip.config
rcc = model.caption_head.loss_rcc
print(json.dumps(dict(
    params=sum(p.numel() for p in model.parameters()),
    clip=[clip.hidden_size, clip.num_hidden_layers, clip.patch_size,
          clip.image_size, clip.projection_dim],
    rcc_built=rcc._text is not None,
    rcc_keys=[k for k in model.state_dict() if 'loss_rcc' in k])))
"""

# then, with the built model as the trained one
PREDICT = """
from mmengine.runner import load_checkpoint
from rassu_mm.testing import demo_mm_inputs
trained = model
torch.save(dict(state_dict=trained.state_dict()), 'full.pth')
model = MODELS.build(cfg.model).eval()  # as tools/test.py: no init_weights
load_checkpoint(model, 'full.pth', map_location='cpu', strict=True)
for key, value in trained.state_dict().items():
    assert torch.equal(model.state_dict()[key], value), key
with torch.no_grad():
    out = model.test_step(demo_mm_inputs([(64, 64)], 1))[0]
print(tuple(out.pred_sem_seg.data.shape), len(out.pred_captions))
"""


@pytest.fixture(scope='module')
def offline_run(tmp_path_factory):
    """``offline_run(config)``: the output of :data:`BUILD` on ``config``
    in a fresh offline interpreter, followed for the first of
    :data:`CONFIGS` by :data:`PREDICT` (one interpreter and one build of
    the 300 M-weight model serve both tests); run once per module."""
    outputs = {}

    def run(config):
        if config not in outputs:
            cwd = tmp_path_factory.mktemp('paper_config')
            tokenizer = write_caption_tokenizer(cwd / 'tok', CAPTIONS)
            code = BUILD.format(config=osp.join(REPO_ROOT, config),
                                tokenizer=tokenizer)
            if config == CONFIGS[0]:
                code += PREDICT
            outputs[config] = _python(code, cwd).strip().splitlines()
        return outputs[config]

    return run


@pytest.mark.slow
@pytest.mark.parametrize('config', CONFIGS)
def test_paper_config_builds_offline(config, offline_run):
    import json
    (line, ) = [line for line in offline_run(config) if line[:1] == '{']
    res = json.loads(line)
    # CLIP ViT-B/16 vision tower: 768 wide, 12 layers, 16 px patches
    assert res['clip'] == [768, 12, 16, 224, 512]
    # the RCC text tower is not built (nor in the state dict) for testing
    assert not res['rcc_built'] and res['rcc_keys'] == []
    # PVT-v2-b5 (82 M) + CLIP vision (86 M) + heads
    assert 200e6 < res['params'] < 400e6


@pytest.mark.slow
def test_get_flops_runs_offline_on_the_paper_config(tmp_path):
    """No tokenizer, no weights, no network: get_flops still counts."""
    env = dict(os.environ, HF_HUB_OFFLINE='1', PYTHONPATH=REPO_ROOT)
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'get_flops.py'),
        osp.join(REPO_ROOT, CONFIGS[0]), '--num-frames', '1', '--shape',
        '64', '64', '--caption-length', '2'
    ], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'stand-in vocabulary' in proc.stdout
    assert 'FLOPs (segmentation + caption branch' in proc.stdout
    assert 'mask_collaboration' in proc.stdout  # CLIP ViT-B/16 counted


@pytest.mark.slow
def test_predict_from_a_full_checkpoint_needs_no_hub(offline_run):
    """What tools/test.py does: build, load a checkpoint of every weight
    (strictly), predict; offline, with no pretrained files."""
    assert offline_run(CONFIGS[0])[-1] == '(1, 64, 64) 1'
