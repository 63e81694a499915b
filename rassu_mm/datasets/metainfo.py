"""Class lists, super-categories and palettes of the SSU datasets."""
import colorsys
from typing import Dict, List


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


def get_metainfo(name: str) -> dict:
    """The metainfo (``classes``, ``super_categories``, ``dataset_name``,
    ``palette``, ``fps``) of a dataset known by name: ``'f-Music'``,
    ``'f-Lifescene'``, ``'SSU-Demo'`` (the demo generator's default 4
    classes) or ``'SSU-Synthetic-Hard'`` (its hard preset) or ``'sr-Music'``
    (``semireal.py``). Configs name the class hierarchy with it instead of
    restating it.

    Args:
        name (str): The dataset name (metainfo ``dataset_name``).

    Returns:
        dict: The metainfo.
    """
    # the generators are only needed for the generated sets' hierarchies
    from .semireal import SR_MUSIC_METAINFO
    from .synthetic import demo_metainfo, hard_metainfo
    known = {
        meta['dataset_name']: meta
        for meta in (F_MUSIC_METAINFO, F_LIFESCENE_METAINFO, demo_metainfo(4),
                     hard_metainfo(), SR_MUSIC_METAINFO)
    }
    if name not in known:
        raise KeyError(f'unknown dataset name {name!r}; known: '
                       f'{sorted(known)}')
    return known[name]
