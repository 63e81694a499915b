"""tools/analysis_tools/benchmark_generation.py on a tiny head: the
figures' properties and the sync counts, never timings."""
import io
import json

import pytest

from rassu_mm.testing import REPO_ROOT, load_tool

bench = load_tool('tools/analysis_tools/benchmark_generation.py')

TINY = ['--clips', '1', '--frames', '2', '--memory-len', '3',
        '--embed-dims', '16', '--num-heads', '2', '--num-layers', '1',
        '--feedforward-channels', '16', '--vocab-size', '120',
        '--max-length', '6', '--beam-size', '2', '--repeats', '1']


def test_presets_and_overrides():
    args = bench.parse_args(['--preset', 'paper', '--max-length', '15'])
    assert (args.embed_dims, args.num_layers, args.max_length) == (512, 3,
                                                                   15)
    # a worker process gets the resolved sizes, not the preset's
    worker = bench.parse_args(bench.worker_argv(args, False))
    assert vars(worker) == dict(vars(args), preset='demo')


def test_worker_reports_syncs_and_times_requests():
    reply = io.StringIO()
    bench.serve(bench.parse_args(TINY), io.StringIO('greedy 6\nbeam 1\n'),
                reply)
    hello, *times = (json.loads(line) for line in
                     reply.getvalue().splitlines())
    assert hello['rassu_mm'].startswith(REPO_ROOT)
    # no EOS: one "all ended" read (the interval is 8, none after the last
    # step) and one for the output length
    assert hello['syncs'] == dict(greedy=1, beam=1)
    assert len(times) == 2 and all(t > 0 for t in times)


def test_step_time_and_ratio(capsys):
    times = dict(greedy={6: [0.010, 0.008], 1: [0.004, 0.003]})
    this = bench.summarise(times, dict(greedy=2), 6)
    assert this['greedy']['step_ms'] == pytest.approx(1.0)  # (8 - 3) / 5
    assert this['greedy']['generate_ms'] == pytest.approx(8.0)
    ref = dict(greedy=dict(step_ms=3., generate_ms=20., syncs=40))
    compiled = {'greedy+compile': dict(step_ms=.5, generate_ms=5.,
                                       syncs=None)}
    bench.report(dict(this=dict(this, **compiled), ref=ref),
                 dict(this='this (abc)', ref='ref (123)'))
    out = capsys.readouterr().out
    assert '| ref (123) | greedy | 3.000 | 20.0 | 40 |' in out
    assert '| this (abc) | greedy+compile | 0.500 | 5.0 | as eager |' in out
    assert 'greedy: step 3.00x faster than ref (123)' in out
    assert 'greedy+compile: step 6.00x faster than ref (123)' in out
