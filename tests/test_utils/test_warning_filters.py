"""The pytest configuration (``setup.cfg``, ``[tool:pytest]
filterwarnings``) turns warnings attributed to our code into errors and
leaves third-party warnings as warnings.

A warning is attributed to the module of the frame ``stacklevel`` levels up
from ``warnings.warn``: a library that warns about its caller's use of a
deprecated API (``stacklevel=2``) blames the caller. So a third-party
deprecation triggered by a call in ``rassu_mm`` fails the suite (our code
must stop using it), while a third-party warning about its own state does
not. The filters are checked by running pytest with the repository's
``setup.cfg`` on generated tests whose warnings come from modules named like
ours and like a third party's.
"""
import textwrap

from rassu_mm.testing import repo_path

pytest_plugins = ['pytester']

INNER_TESTS = textwrap.dedent('''
    import types


    def module(name):
        """A module called ``name`` with two functions that warn: about
        themselves, and (stacklevel=2) about their caller."""
        mod = types.ModuleType(name)
        code = (
            'import warnings\\n'
            'def warn():\\n'
            '    warnings.warn("from " + __name__, UserWarning)\\n'
            'def deprecate():\\n'
            '    warnings.warn("caller of " + __name__, DeprecationWarning,\\n'
            '                  stacklevel=2)\\n'
            'def call(func):\\n'
            '    func()\\n')
        exec(compile(code, '<' + name + '>', 'exec'), mod.__dict__)
        return mod


    def test_ours_fails():
        module('rassu_mm.models.fake').warn()


    def test_tools_fails():
        module('tools.analysis_tools.fake').warn()


    def test_third_party_warns():
        module('mmengine.fake').warn()


    def test_third_party_deprecation_of_our_call_fails():
        module('rassu_mm.fake').call(module('torch.fake').deprecate)


    def test_third_party_deprecation_of_its_own_call_warns():
        module('mmengine.fake').call(module('torch.fake').deprecate)


    def test_prefix_is_not_enough():
        module('rassu_mm_other').warn()
        module('mytools.fake').warn()
''')


def test_our_warnings_are_errors(pytester):
    pytester.makepyfile(test_inner=INNER_TESTS)
    result = pytester.runpytest_subprocess('test_inner.py', '-c',
                                           repo_path('setup.cfg'),
                                           '--rootdir', str(pytester.path),
                                           '-p', 'no:randomly',
                                           '-p', 'no:cacheprovider')
    result.assert_outcomes(passed=3, failed=3)
    failed = {
        line.split()[1]
        for line in result.outlines if line.startswith('FAILED ')
    }
    assert failed == {
        f'test_inner.py::{name}'
        for name in ('test_ours_fails', 'test_tools_fails',
                     'test_third_party_deprecation_of_our_call_fails')
    }
    result.stdout.fnmatch_lines_random([
        'E *UserWarning: from rassu_mm.models.fake',
        'E *UserWarning: from tools.analysis_tools.fake',
        'E *DeprecationWarning: caller of torch.fake',
    ])
