"""Data for the course: keyed 2-D generators, preprocessing and bundled sets.

Generators return ``(x, y)`` with ``x`` float32 of shape (n, 2) and ``y`` int32
class ids of shape (n,), shuffled by the key. Nothing here is global: the same key
gives the same data.
"""

from jaxnn.data.loaders import load_breast_cancer, load_course_points, load_digits
from jaxnn.data.preprocessing import DataSplits, Standardizer, standardize, train_val_test_split
from jaxnn.data.synthetic import make_blobs, make_circles, make_moons, make_spirals, make_xor

__all__ = [
    "DataSplits",
    "Standardizer",
    "load_breast_cancer",
    "load_course_points",
    "load_digits",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_spirals",
    "make_xor",
    "standardize",
    "train_val_test_split",
]
