"""Data that is read batch by batch: ``nn.data.Dataset`` (Keras's ``PyDataset``) and
``nn.data.ArrayDataset`` (arrays or ``np.memmap`` arrays, shuffled by a seed).

``fit``, ``evaluate`` and ``predict`` take a data source wherever they take arrays, and
read a memory-mapped array (``np.memmap``, ``np.load(path, mmap_mode="r")``) one batch
at a time without copying it. See docs/large_data.md.
"""

from .dataset import ArrayDataset, Dataset
from .sources import is_data_source, is_memory_mapped

__all__ = ["ArrayDataset", "Dataset", "is_data_source", "is_memory_mapped"]
