"""Class lists, super-categories and palettes of the SSU datasets.

Models (the segmentor's ``class_hierarchy``) and datasets both read them
from here, as MMSegmentation's ``mmseg/utils/class_names.py``.
"""
import colorsys
from typing import Dict, List, Tuple


def make_palette(num_classes: int) -> List[List[int]]:
    """Well-separated, deterministic RGB colours (golden-ratio hue steps).

    Args:
        num_classes (int): Number of colours.

    Returns:
        list[list[int]]: ``num_classes`` ``[R, G, B]`` triples in 0..255.
    """
    palette = []
    for i in range(num_classes):
        hue = (i * 0.618033988749895) % 1.0
        value = 0.95 if i % 2 == 0 else 0.75
        rgb = colorsys.hsv_to_rgb(hue, 0.8, value)
        palette.append([int(round(c * 255)) for c in rgb])
    return palette


def flatten_super_categories(super_categories: Dict[str, List[str]]) -> list:
    """Classes in the order their super-categories list them."""
    return [c for members in super_categories.values() for c in members]


F_MUSIC_SUPER_CATEGORIES = {
    'String': [
        'violin', 'cello', 'guitar', 'ukulele', 'erhu', 'guzheng', 'pipa',
        'bass', 'banjo'
    ],
    'Percussion': ['drum', 'xylophone', 'congas'],
    'Keyboard': ['accordion', 'piano'],
    'Wind': [
        'tuba', 'trumpet', 'suona', 'bassoon', 'flute', 'clarinet', 'bagpipe',
        'saxophone'
    ],
}

F_LIFESCENE_SUPER_CATEGORIES = {
    'Human': [
        'baby crying', 'woman singing', 'woman speaking', 'man singing',
        'man speaking', 'people coughing', 'people slapping',
        'people belly laughing', 'people sneezing', 'people whispering',
        'child singing', 'child speaking', 'child shouting'
    ],
    'Vehicle': [
        'car horning', 'train horning', 'train whistling',
        'car engine idling', 'car passing by', 'car racing',
        'car engine knocking', 'car engine starting', 'fire truck siren',
        'train wheels squealing', 'railroad car', 'motorcycle pass',
        'police car'
    ],
    'Animal': [
        'bird chirping', 'cat meowing', 'cat purring', 'dog barking',
        'cow lowing', 'horse neighing', 'horse clip-clop', 'sheep bleating',
        'bull bellowing', 'lion roaring'
    ],
    'Sport': ['basketball bounce', 'skate boarding'],
    'Tool': [
        'typing on computer keyboard', 'lawn mowing', 'chainsawing trees',
        'sewing machine', 'hedge trimmer', 'telephone ringing',
        'hammering nails', 'mouse clicking', 'vacuum cleaner cleaning',
        'machine gun shooting', 'printer printing', 'smoke detector beeping',
        'arc welding', 'alarm clock ringing'
    ],
    'Nature': ['sea waves', 'wind chiming', 'waterfall burbling'],
    'Other': [
        'church bell ringing', 'door slamming',
        'bathroom ventilation fan running', 'helicopter',
        'electric razor shaving', 'airplane flyby'
    ],
}


def hierarchy_metainfo(dataset_name: str,
                       super_categories: Dict[str, List[str]]) -> dict:
    """Metainfo of a dataset given by its class hierarchy: the classes in
    the hierarchy's order, a palette and 1 frame per second."""
    classes = flatten_super_categories(super_categories)
    return dict(
        dataset_name=dataset_name,
        classes=tuple(classes),
        super_categories=super_categories,
        palette=make_palette(len(classes)),
        fps=1)


F_MUSIC_METAINFO = hierarchy_metainfo('f-Music', F_MUSIC_SUPER_CATEGORIES)
F_LIFESCENE_METAINFO = hierarchy_metainfo('f-Lifescene',
                                          F_LIFESCENE_SUPER_CATEGORIES)

# sr-Music (``rassu_mm/datasets/semireal.py``): the f-Music classes with
# both a real sound and >= 2 picture styles in the packages
# (docs/semireal.md lists the left-out nine and why: ukulele, erhu, pipa,
# guzheng, suona, bagpipe, and tuba, bassoon, clarinet, which have pictures
# of one style only)
SR_MUSIC_CLASSES = ('violin', 'cello', 'guitar', 'bass', 'banjo', 'drum',
                    'xylophone', 'congas', 'accordion', 'piano', 'trumpet',
                    'flute', 'saxophone')
SR_MUSIC_SUPER_CATEGORIES = {
    group: [c for c in members if c in SR_MUSIC_CLASSES]
    for group, members in F_MUSIC_SUPER_CATEGORIES.items()
}
SR_MUSIC_METAINFO = hierarchy_metainfo('sr-Music', SR_MUSIC_SUPER_CATEGORIES)

# The synthetic sets (``rassu_mm/datasets/synthetic.py``). Demo preset: a
# class is a colour (its palette entry) and a shape.
COLOURS = (('red', (220, 40, 40)), ('blue', (50, 90, 235)),
           ('green', (40, 190, 70)), ('yellow', (235, 215, 40)),
           ('magenta', (220, 50, 220)), ('cyan', (40, 215, 225)),
           ('orange', (245, 140, 30)), ('white', (240, 240, 240)))
SHAPES = ('triangle', 'circle', 'square', 'diamond', 'cross', 'star')
MAX_CLASSES = len(COLOURS)
# The hard preset (``preset='hard'``): super-category, its captions' verb,
# its classes (shapes). The super-category sets the sound's timbre.
HARD_HIERARCHY = (
    ('Bell', 'is ringing', ('triangle', 'pentagon', 'hexagon')),
    ('Whistle', 'is whistling', ('circle', 'ring', 'half disc')),
    ('Beast', 'is growling', ('star', 'cross', 'saltire')),
    ('Drum', 'is drumming', ('square', 'diamond', 'arrow')),
)


def demo_classes(num_classes: int) -> List[Tuple[str, str, tuple]]:
    """``(name, shape, rgb)`` of the first ``num_classes`` demo classes."""
    if not 2 <= num_classes <= MAX_CLASSES:
        raise ValueError(f'num_classes must be in 2..{MAX_CLASSES}, '
                         f'got {num_classes}')
    return [(f'{COLOURS[i][0]} {SHAPES[i % len(SHAPES)]}',
             SHAPES[i % len(SHAPES)], COLOURS[i][1])
            for i in range(num_classes)]


def demo_metainfo(num_classes: int) -> dict:
    """SSU metainfo: classes, super-categories by shape, colour palette."""
    classes = demo_classes(num_classes)
    super_categories: Dict[str, List[str]] = {}
    for name, shape, _ in classes:
        super_categories.setdefault(shape.capitalize(), []).append(name)
    return dict(
        dataset_name='SSU-Demo',
        classes=[c[0] for c in classes],
        super_categories=super_categories,
        palette=[list(c[2]) for c in classes],
        fps=1)


def hard_classes() -> List[Tuple[str, int, int]]:
    """``(name, super_index, sub_index)`` of the 12 hard-preset classes."""
    return [(name, s, j) for s, (_, _, members) in enumerate(HARD_HIERARCHY)
            for j, name in enumerate(members)]


def hard_metainfo() -> dict:
    """SSU metainfo of the hard preset: 12 classes in 4 super-categories,
    plus ``verbs`` (super-category -> the verb its captions use)."""
    return dict(
        dataset_name='SSU-Synthetic-Hard',
        classes=[c[0] for c in hard_classes()],
        super_categories={s: list(m)
                          for s, _, m in HARD_HIERARCHY},
        verbs={s: v
               for s, v, _ in HARD_HIERARCHY},
        fps=1)


def get_metainfo(name: str) -> dict:
    """The metainfo (``classes``, ``super_categories``, ``dataset_name``,
    ``palette``, ``fps``) of a dataset known by name: ``'f-Music'``,
    ``'f-Lifescene'``, ``'SSU-Demo'`` (the demo generator's default 4
    classes) or ``'SSU-Synthetic-Hard'`` (its hard preset) or ``'sr-Music'``.
    Configs name the class hierarchy with it instead of restating it.

    Args:
        name (str): The dataset name (metainfo ``dataset_name``).

    Returns:
        dict: The metainfo.
    """
    known = {
        meta['dataset_name']: meta
        for meta in (F_MUSIC_METAINFO, F_LIFESCENE_METAINFO, demo_metainfo(4),
                     hard_metainfo(), SR_MUSIC_METAINFO)
    }
    if name not in known:
        raise KeyError(f'unknown dataset name {name!r}; known: '
                       f'{sorted(known)}')
    return known[name]
