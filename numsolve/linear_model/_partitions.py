"""Fixed partitions of the coordinates into blocks (the paper's "Order", "Sort", "Avg")."""

import numpy as np

__all__ = ["PARTITIONS", "make_partition"]

PARTITIONS = ("variable", "order", "sort", "avg")


def make_partition(lips, block_size, partition):
    """Blocks of ``block_size`` coordinates as an index matrix with a validity mask.

    Parameters
    ----------
    lips : ndarray of shape (m,)
        Coordinate Lipschitz constants.
    block_size : int
    partition : {"order", "sort", "avg"}
        ``"order"``: contiguous chunks; ``"sort"``: chunks of the coordinates sorted by
        Lipschitz constant (blocks of similar constants); ``"avg"``: coordinates sorted by
        Lipschitz constant dealt round-robin (blocks of similar average constant).

    Returns
    -------
    index : ndarray of shape (n_blocks, block_size), int
        Coordinates of each block, padded with the block's first coordinate.
    mask : ndarray of shape (n_blocks, block_size), bool
        False where ``index`` is padding.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.linear_model._partitions import make_partition
    >>> index, mask = make_partition(np.array([4.0, 1.0, 3.0, 2.0]), 2, "sort")
    >>> index.tolist()
    [[1, 3], [2, 0]]
    """
    m = lips.shape[0]
    n_blocks = -(-m // block_size)
    if partition == "order":
        order = np.arange(m)
    elif partition == "sort":
        order = np.argsort(lips, kind="stable")
    elif partition == "avg":
        ranked = np.argsort(lips, kind="stable")
        order = np.concatenate([ranked[k::n_blocks] for k in range(n_blocks)])
        sizes = [ranked[k::n_blocks].size for k in range(n_blocks)]
        return _pack(np.split(order, np.cumsum(sizes)[:-1]), block_size)
    else:
        raise ValueError(f"unknown partition {partition!r}; choose from {PARTITIONS}")
    return _pack([order[k:k + block_size] for k in range(0, m, block_size)], block_size)


def _pack(blocks, block_size):
    index = np.empty((len(blocks), block_size), dtype=np.int64)
    mask = np.zeros((len(blocks), block_size), dtype=bool)
    for row, block in enumerate(blocks):
        index[row, : block.size] = block
        index[row, block.size:] = block[0]
        mask[row, : block.size] = True
    return index, mask
