"""rassu_mm.utils.class_names: the class tables of every known dataset."""
import pytest

from rassu_mm.utils.class_names import (F_MUSIC_METAINFO, SR_MUSIC_CLASSES,
                                        SR_MUSIC_METAINFO, get_metainfo)

NAMES = ('f-Music', 'f-Lifescene', 'SSU-Demo', 'SSU-Synthetic-Hard',
         'sr-Music')


@pytest.mark.parametrize('name', NAMES)
def test_get_metainfo_by_name(name):
    meta = get_metainfo(name)
    assert meta['dataset_name'] == name
    members = [c for group in meta['super_categories'].values()
               for c in group]
    # every class in exactly one super-category, in the classes' order
    assert members == list(meta['classes'])
    assert len(set(members)) == len(members)


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(KeyError, match="'f-Musik'.*'f-Music'"):
        get_metainfo('f-Musik')


def test_sr_music_keeps_the_f_music_order_and_groups():
    assert set(SR_MUSIC_CLASSES) < set(F_MUSIC_METAINFO['classes'])
    assert list(SR_MUSIC_METAINFO['classes']) == [
        c for c in F_MUSIC_METAINFO['classes'] if c in SR_MUSIC_CLASSES]
    for group, members in SR_MUSIC_METAINFO['super_categories'].items():
        assert set(members) <= set(F_MUSIC_METAINFO['super_categories'][group])
