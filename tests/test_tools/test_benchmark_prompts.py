"""tools/analysis_tools/benchmark_prompts.py on a few steps: structure of
the results and the data it generates (no timings, no accuracy claims)."""
import json

from rassu_mm.testing import load_tool

tool = load_tool('tools/analysis_tools/benchmark_prompts.py')


def test_toy_captions_follow_the_hierarchy():
    memory, samples = tool.make_split(3, 0, noise=1.0)
    assert memory.shape == (3 * tool.FRAMES, tool.TOKENS, tool.CHANNELS)
    for sample in samples:
        names = [c.split()[1] for c in sample.gt_captions]
        assert sample.categories == sorted(set(names))
        for caption, name in zip(sample.gt_captions, names):
            assert caption.split()[3] == tool.VERB[tool.PARENT[name]]
    again, _ = tool.make_split(3, 0, noise=1.0)
    assert memory.equal(again)  # deterministic


def test_results_of_both_prompt_sources(tmp_path, capsys):
    out = tmp_path / 'prompts.json'
    results = tool.main(['--seeds', '0', '--steps', '2', '--out', str(out)])
    assert set(results) == {'predicted', 'ground_truth'}
    for runs in results.values():
        assert len(runs) == 1
        assert set(runs[0]) == {'exact', 'class_word', 'classifier'}
        assert all(0 <= v <= 1 for v in runs[0].values())
    assert json.loads(out.read_text()) == results
    table = capsys.readouterr().out
    assert '| predicted |' in table and '| ground_truth |' in table
