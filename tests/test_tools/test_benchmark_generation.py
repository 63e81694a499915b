"""tools/analysis_tools/benchmark_generation.py on a tiny head: the
figures' properties and the sync counts, never timings."""
import math

from rassu_mm.testing import load_tool

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
    assert vars(worker) == dict(vars(args), worker=False, preset='demo')


def test_measure_reports_steps_and_syncs():
    results = bench.measure(bench.parse_args(TINY))
    assert set(results) == {'greedy', 'beam'}
    for result in results.values():
        assert math.isfinite(result['step_ms'])
        assert result['generate_ms'] > 0
        # no EOS: one "all ended" read (after step 5 of 6 is none: the
        # interval is 8) and one for the output length
        assert result['syncs'] == 1


def test_report_gives_the_ratio_to_the_reference(capsys):
    runs = dict(
        this=[dict(greedy=dict(step_ms=1., generate_ms=9., syncs=2),
                   **{'greedy+compile': dict(step_ms=.5, generate_ms=5.,
                                             syncs=2)})] * 3,
        ref=[dict(greedy=dict(step_ms=3., generate_ms=20., syncs=40))] * 3)
    bench.report(runs, dict(this='this (abc)', ref='ref (123)'))
    out = capsys.readouterr().out
    assert '| ref (123) | greedy | 3.000 | 20.0 | 40 |' in out
    assert 'greedy: step 3.00x faster than ref (123)' in out
    assert 'greedy+compile: step 6.00x faster than ref (123)' in out
