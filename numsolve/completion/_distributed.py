"""Alternating minimisation on a Dask cluster: the observed entries never leave the workers.

The entries, a ``dask.dataframe`` of ``(row, col, value)`` triples, are shuffled once by Dask
(``set_index`` on known divisions) into row blocks (CSR) and column blocks (CSC), persisted on
the workers. Every half-step solves each block's regressions on the worker that holds it with
the single-machine kernel (:func:`numsolve.completion._alternating.half_step`); the factor being
solved is assembled on one worker, and each worker fetches it once, from the workers, when its
blocks need it. Only scalars (RMSE, CG steps) reach the client during the sweeps; the factors
come back at the end. A lost worker's blocks and factors are recomputed by Dask from their
lineage.
"""

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from .._validation import check_random_state
from ._alternating import altmin_compiled, biased_factors, half_step, orthonormalize
from ._entries import observed_squared_error
from ._init import balance_spectral_start, check_given_factors, check_init, random_start
from ._rows import row_ridge
from ._stopping import SweepLog

__all__ = [
    "altmin_distributed",
    "as_triples",
    "cluster_size",
    "count_and_shape",
    "default_client",
    "fit_biases_distributed",
    "fit_on_one_worker",
    "plan_blocks",
]

TRIPLE_COLUMNS = ("row", "col", "value")


def as_triples(M, columns=TRIPLE_COLUMNS):
    """The observations as a dask DataFrame with columns ``row``, ``col``, ``value``."""
    import dask.array as da
    import dask.dataframe as dd

    if isinstance(M, da.Array):
        if M.ndim != 2:
            raise ValueError(f"M must be 2-D, got a dask array of shape {M.shape}")
        return _array_to_triples(M)
    if not isinstance(M, dd.DataFrame):
        raise TypeError(f"M must be a dask DataFrame or dask Array, got {type(M).__name__}")
    missing = [name for name in columns if name not in M.columns]
    if missing:
        raise ValueError(f"M lacks the columns {missing}; it has {list(M.columns)}")
    renamed = M[list(columns)]
    renamed.columns = list(TRIPLE_COLUMNS)
    return renamed


def _array_to_triples(M):
    """Non-NaN entries of a dense dask array, chunk by chunk, as (row, col, value) triples."""
    import dask
    import dask.dataframe as dd
    import pandas as pd

    def chunk_triples(block, row0, col0):
        rows, cols = np.nonzero(~np.isnan(block))
        return pd.DataFrame({"row": rows + row0, "col": cols + col0,
                             "value": block[rows, cols]})

    row_starts = np.concatenate([[0], np.cumsum(M.chunks[0])[:-1]])
    col_starts = np.concatenate([[0], np.cumsum(M.chunks[1])[:-1]])
    pieces = [dask.delayed(chunk_triples)(chunk, int(row_starts[i]), int(col_starts[j]))
              for (i, j), chunk in np.ndenumerate(M.to_delayed())]
    meta = pd.DataFrame({"row": np.array([], np.int64), "col": np.array([], np.int64),
                         "value": np.array([], M.dtype)})
    return dd.from_delayed(pieces, meta=meta)


def _block_bounds(size, n_blocks):
    edges = np.linspace(0, size, n_blocks + 1).round().astype(np.int64)
    return [(int(lo), int(hi)) for lo, hi in zip(edges[:-1], edges[1:]) if hi > lo]


def cluster_size(client):
    """The number of workers and the smallest worker ``memory_limit`` (None if unlimited)."""
    workers = client.scheduler_info()["workers"].values()
    limits = [worker.get("memory_limit") or 0 for worker in workers]
    return max(len(limits), 1), (min(limits) if limits and min(limits) > 0 else None)


def default_client():
    """The current Dask client, with a clear error when there is none."""
    from distributed import get_client

    try:
        return get_client()
    except ValueError as error:
        raise ValueError("dask input needs a Dask client: pass client=Client(...) or create "
                         "one first") from error


def _compressed_block(frame, key, other, lo, hi, n_other, dtype):
    """Rows ``[lo, hi)`` of ``key`` as CSR arrays over the global ``other`` indices."""
    matrix = sp.csr_matrix(
        (frame["value"].to_numpy(dtype),
         (frame[key].to_numpy(np.int64) - lo, frame[other].to_numpy(np.int64))),
        shape=(hi - lo, n_other),
    )
    matrix.sum_duplicates()
    return {"lo": lo, "hi": hi, "n_other": n_other, "indptr": matrix.indptr.astype(np.int64),
            "indices": matrix.indices.astype(np.int64), "data": matrix.data}


def _shuffle_blocks(client, triples, key, other, size, n_other, n_blocks, dtype):
    """Persisted futures of the CSR blocks of ``key`` (Dask shuffles the entries once)."""
    import dask

    bounds = _block_bounds(size, n_blocks)
    divisions = [lo for lo, _ in bounds] + [bounds[-1][1] - 1]
    by_key = triples.assign(_key=triples[key]).set_index("_key", divisions=divisions, shuffle_method="tasks")
    parts = by_key.to_delayed()

    blocks = [dask.delayed(_compressed_block)(part, key, other, lo, hi, n_other, dtype)
              for part, (lo, hi) in zip(parts, bounds)]
    return client.compute(blocks)


def _partition_summary(frame):
    """Counts per row and column index, smallest index, sum of squares, entries: one partition."""
    rows = frame["row"].to_numpy(np.int64)
    cols = frame["col"].to_numpy(np.int64)
    values = frame["value"].to_numpy(np.float64)
    smallest = min(rows.min(initial=0), cols.min(initial=0))
    if smallest < 0:
        return None
    return (np.bincount(rows), np.bincount(cols), float(values @ values), values.size)


def _combine_summaries(summaries):
    """Add up the partition summaries (``None`` marks a negative index)."""
    if any(summary is None for summary in summaries):
        return None
    m = max(summary[0].size for summary in summaries)
    n = max(summary[1].size for summary in summaries)
    rows, cols = np.zeros(m, np.int64), np.zeros(n, np.int64)
    for row_counts, col_counts, _, _ in summaries:
        rows[:row_counts.size] += row_counts
        cols[:col_counts.size] += col_counts
    return (rows, cols, sum(summary[2] for summary in summaries),
            sum(summary[3] for summary in summaries))


def count_and_shape(client, triples):
    """Observed entries per row and per column, the shape, and the sum of squared values.

    One task per partition and one to combine them: a single round trip to the cluster.
    """
    import dask

    summaries = [dask.delayed(_partition_summary)(part) for part in triples.to_delayed()]
    combined = client.compute(dask.delayed(_combine_summaries)(summaries)).result()
    if combined is None:
        raise ValueError("M has negative row or column indices")
    rows, cols, sum_squares, nnz = combined
    if nnz == 0:
        raise ValueError("M has no observed entry")
    return (rows.size, cols.size), rows, cols, float(sum_squares), int(nnz)


def plan_blocks(nnz, n_workers, n_blocks=None, memory_limit=None):
    """Row (and column) blocks for ``nnz`` entries on ``n_workers`` workers.

    ``n_blocks`` given is kept. Otherwise blocks hold at least :data:`MIN_BLOCK_ENTRIES`
    entries, up to two per worker: below that a block's half-step is shorter than the
    scheduling and transfer costs it would save. One block means the whole fit runs as one task
    on one worker (:func:`fit_on_one_worker`). With a worker ``memory_limit`` (bytes), blocks
    are also made small enough that building one (a few copies of its entries) stays within a
    tenth of it, so the data itself may exceed a worker's memory: Dask spills the blocks a
    worker holds beyond its limit.

    Examples
    --------
    >>> from numsolve.completion._distributed import plan_blocks
    >>> plan_blocks(80_000, 2), plan_blocks(10_000_000, 2), plan_blocks(80_000, 2, 3)
    (1, 4, 3)
    >>> plan_blocks(10_000_000, 2, memory_limit=2**30)
    10
    """
    if n_blocks is not None:
        return n_blocks
    blocks = max(1, min(2 * n_workers, nnz // MIN_BLOCK_ENTRIES))
    if memory_limit:
        blocks = max(blocks, -(-nnz * BYTES_PER_ENTRY * 32 // int(memory_limit)))
    return int(blocks)


BYTES_PER_ENTRY = 32
"""Bytes an observed entry takes in a shuffled partition (row, column, value and the key)."""

MIN_BLOCK_ENTRIES = 500_000
"""Observed entries below which a block is not worth a task of its own (see plan_blocks)."""


def _local_matrix(parts, shape, dtype):
    """The triples of all partitions as one CSR matrix (explicit zeros kept, duplicates summed)."""
    import pandas as pd

    frame = pd.concat(parts, ignore_index=True)
    matrix = sp.csr_matrix(
        (frame["value"].to_numpy(dtype),
         (frame["row"].to_numpy(np.int64), frame["col"].to_numpy(np.int64))), shape=shape)
    matrix.sum_duplicates()
    return matrix


def fit_on_one_worker(client, triples, shape, dtype, fit, *args):
    """A future of ``fit(matrix, *args)`` run in one task on the worker that assembles the CSR
    ``matrix``.

    The entries go from their partitions to that worker only. A lost worker's task is rerun by
    Dask from the partitions' lineage.
    """
    import dask

    matrix = dask.delayed(_local_matrix)(triples.to_delayed(), shape, dtype)
    return client.compute(dask.delayed(fit)(matrix, *args))


def _without_arrays(result):
    """``result`` with its factors and biases left out (they stay on the worker)."""
    import copy

    light = copy.copy(result)
    light.extras = {key: value for key, value in result.extras.items()
                    if key not in FACTOR_NAMES}
    light.x = None
    return light


FACTOR_NAMES = ("U", "V", "row_bias", "col_bias")


def _as_dask_array(future, shape, dtype):
    """A one-chunk dask array whose data is the worker-held ``future``."""
    import dask
    import dask.array as da

    return da.from_delayed(dask.delayed(future), shape=shape, dtype=dtype)


def _keep_on_cluster(client, result_future, shape, rank, dtype, bias):
    """The fit's SolveResult with its factors (and biases) as dask arrays left on the workers."""
    result = client.submit(_without_arrays, result_future, pure=False).result()
    sizes = {"U": (shape[0], rank), "V": (shape[1], rank), "row_bias": (shape[0],),
             "col_bias": (shape[1],)}
    for name in FACTOR_NAMES[:4 if bias else 2]:
        future = client.submit(getattr, result_future, name, pure=False)
        result.extras[name] = _as_dask_array(future, sizes[name], dtype)
    result.x = result.extras["U"]
    return result


def _altmin_local(matrix, rank, params):
    """The single-machine ``altmin`` on a worker, its ConvergenceWarning left to the client."""
    params = dict(params)
    rng = check_random_state(params.pop("random_state"))
    init = params.pop("init")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return altmin_compiled(matrix, rank, init=init, validation=None, observe_zeros=True,
                               rng=rng, **params)


def _solve_block(block, fixed, start, lam, fixed_counts, options, own_bias, other_bias):
    """One block's half-step on its worker, with the single-machine kernel (one thread)."""
    lo, hi = block["lo"], block["hi"]
    arrays = (block["indptr"], block["indices"], block["data"])
    own = None if own_bias is None else own_bias[lo:hi]
    solved, steps = half_step(arrays, fixed, np.ascontiguousarray(start[lo:hi]), lam[lo:hi],
                              fixed_counts, {**options, "num_threads": 1}, own, other_bias)
    return solved, steps


def _assemble(pieces, dtype):
    """Concatenate block solutions into the full factor (and bias), and total the CG steps."""
    steps = sum(step for _, step in pieces)
    if isinstance(pieces[0][0], tuple):
        factor = np.concatenate([p[0][0] for p in pieces]).astype(dtype, copy=False)
        bias = np.concatenate([p[0][1] for p in pieces]).astype(dtype, copy=False)
        return factor, bias, steps
    factor = np.concatenate([p[0] for p in pieces]).astype(dtype, copy=False)
    return factor, None, steps


def _block_squared_error(block, U, V, row_bias, col_bias):
    """Squared error of ``U V^T`` (plus biases) on one row block's entries."""
    lo, hi = block["lo"], block["hi"]
    U_block = np.ascontiguousarray(U[lo:hi])
    if row_bias is not None:
        U_block, V = biased_factors(U_block, V, row_bias[lo:hi], col_bias)
    return float(observed_squared_error(block["indptr"], block["indices"], block["data"],
                                        U_block, np.ascontiguousarray(V), 1))


def _block_product(block, right, transpose):
    """``B @ right`` for a CSR block ``B``, or ``B.T @ right`` restricted to the block's rows."""
    lo, hi = block["lo"], block["hi"]
    B = sp.csr_matrix((block["data"], block["indices"], block["indptr"]),
                      shape=(hi - lo, block["n_other"]))
    return B.T @ right[lo:hi] if transpose else B @ right


def _stacked_orthonormal(parts):
    """Orthonormal basis of the row-stacked block products (QR on the worker)."""
    return np.linalg.qr(np.concatenate(parts))[0]


def _summed_orthonormal(parts):
    """Orthonormal basis of the summed block products (QR on the worker)."""
    return np.linalg.qr(np.sum(parts, axis=0))[0]


def _top_singular_triplets(parts, Q, rank):
    """Top-``rank`` SVD of ``Q B`` with ``B^T`` the summed block products ``X^T Q``."""
    small_left, sing, right_t = np.linalg.svd(np.sum(parts, axis=0).T, full_matrices=False)
    return Q @ small_left[:, :rank], sing[:rank], right_t[:rank]


def _distributed_spectral_start(client, row_blocks, shape, rank, nnz, rng, dtype):
    """Trimmed, balanced top-``rank`` SVD of the observations by block products.

    A randomised subspace iteration (6 power steps, QR-normalised) whose products ``X Q`` and
    ``X^T Q`` are formed by the row blocks on the workers. The whole iteration is one task
    graph, its QRs on the workers; only the ``m x rank`` and ``n x rank`` singular vectors
    reach the client.
    """
    m, n = shape
    size = rank + max(10, rank)

    def products(right, transpose):
        return [client.submit(_block_product, block, right, transpose, pure=False)
                for block in row_blocks]

    Q = _held(client, rng.normal(size=(n, size)))
    for _ in range(6):
        Q = client.submit(_stacked_orthonormal, products(Q, False), pure=False)
        Q = client.submit(_summed_orthonormal, products(Q, True), pure=False)
    Q = client.submit(_stacked_orthonormal, products(Q, False), pure=False)
    triplets = client.submit(_top_singular_triplets, products(Q, True), Q, rank, pure=False)
    left, sing, right_t = triplets.result()
    return balance_spectral_start(left, sing, right_t, m, rank, nnz / (m * n), dtype)


def altmin_distributed(M, rank, *, client, columns=TRIPLE_COLUMNS, n_blocks=None, reg=0.0,
                       reg_scaling="count", bias=False, max_iter=100, tol=1e-6, solver="cg",
                       init="svd", inner_iter=3, sketch_size=None, dtype=np.float64,
                       random_state=None, verbose=0, keep_factors=False):
    """:func:`numsolve.completion.altmin` for observations held by a Dask cluster.

    Called by ``altmin`` when ``M`` is a dask DataFrame of ``(row, col, value)`` triples (or a
    dask Array with NaN for missing entries); see ``altmin`` for the shared parameters.

    Parameters
    ----------
    M : dask.dataframe.DataFrame or dask.array.Array
        The observations.
    rank : int
        Rank of the factorisation.
    client : distributed.Client
        The cluster; blocks and factors live on its workers.
    columns : tuple of str, default=("row", "col", "value")
        Names of the row-index, column-index and value columns of a DataFrame ``M``.
    n_blocks : int, optional
        Row blocks and column blocks. Default: sized to the data by :func:`plan_blocks`
        (blocks of at least 500,000 entries, at most two per worker). With one block the
        single-machine ``altmin`` runs as one task on one worker.
    dtype : numpy dtype, default=float64
        Working precision (float32 or float64).
    random_state : numpy.random.RandomState
        Already checked by ``altmin``.
    keep_factors : bool, default=False
        Return the factors (and biases) as dask arrays left on the workers.

    Returns
    -------
    SolveResult
        As ``altmin``, with NumPy factors (dask arrays with ``keep_factors``).

    Notes
    -----
    With ``init="random"`` or given factors and ``solver`` ``"exact"`` or ``"cg"``, the
    factors equal the single-machine ones up to round-off, whatever the number of blocks: each
    block runs the same kernel on its rows, with the global observation counts. The spectral
    start (``init="svd"``) is computed by a subspace iteration over the blocks and agrees with
    the single-machine start to the accuracy of the iteration. ``"sketched"`` draws its
    sketches per block, so its factors differ within the sketch's tolerance.
    """
    check_init(init)
    triples = as_triples(M, columns)
    shape, row_counts, col_counts, sum_squares, nnz = count_and_shape(client, triples)
    if not 1 <= rank <= min(shape):
        raise ValueError(f"rank must be in [1, {min(shape)}] for a {shape} matrix, got {rank}")
    n_workers, memory_limit = cluster_size(client)
    n_blocks = plan_blocks(nnz, n_workers, n_blocks, memory_limit)
    if n_blocks == 1:
        params = dict(reg=reg, reg_scaling=reg_scaling, bias=bias, max_iter=max_iter, tol=tol,
                      solver=solver, init=init, inner_iter=inner_iter,
                      sketch_size=sketch_size, random_state=random_state, verbose=verbose)
        future = fit_on_one_worker(client, triples, shape, dtype, _altmin_local, rank, params)
        result = (_keep_on_cluster(client, future, shape, rank, dtype, bias) if keep_factors
                  else future.result())
        if not result.converged:
            warnings.warn(f"altmin did not converge: {result.message}", ConvergenceWarning,
                          stacklevel=3)
        result.extras["n_blocks"] = 1
        return result
    row_blocks = _shuffle_blocks(client, triples, "row", "col", shape[0], shape[1], n_blocks,
                                 dtype)
    col_blocks = _shuffle_blocks(client, triples, "col", "row", shape[1], shape[0], n_blocks,
                                 dtype)
    if isinstance(init, tuple):
        U, V = (np.array(f, dtype=dtype, order="C") for f in init)
        check_given_factors(U, V, shape, rank)
    elif init == "random":
        U, V = random_start(shape, rank, np.sqrt(sum_squares), nnz, random_state, dtype)
    else:
        U, V = _distributed_spectral_start(client, row_blocks, shape, rank, nnz, random_state,
                                           dtype)
    sketch_seed = random_state.randint(0, 2**31 - 1)
    lam_rows = _held(client, row_ridge(row_counts, reg, reg_scaling))
    lam_cols = _held(client, row_ridge(col_counts, reg, reg_scaling))
    row_counts_f, col_counts_f = _held(client, row_counts), _held(client, col_counts)
    row_bias = np.zeros(shape[0], dtype) if bias else None
    col_bias = np.zeros(shape[1], dtype) if bias else None
    keep_orthonormal = reg == 0.0 and not bias
    data_rms = np.sqrt(sum_squares / nnz)

    def remote_half_step(blocks, fixed, start, lam, fixed_counts, own_bias, other_bias, sweep, side):
        futures = []
        for index, block in enumerate(blocks):
            options = dict(solver=solver, inner_iter=inner_iter, sketch_size=sketch_size,
                           random_state=np.random.default_rng(
                               [sketch_seed, sweep, side, index]))
            futures.append(client.submit(_solve_block, block, fixed, start, lam, fixed_counts,
                                         options, own_bias, other_bias, pure=False))
        assembled = client.submit(_assemble, futures, dtype, pure=False)
        factor = client.submit(_item, assembled, 0, pure=False)
        new_bias = client.submit(_item, assembled, 1, pure=False) if bias else None
        steps = client.submit(_item, assembled, 2, pure=False)
        return factor, new_bias, steps

    U_f, V_f = _held(client, U), _held(client, V)
    rb_f = _held(client, row_bias) if bias else None
    cb_f = _held(client, col_bias) if bias else None
    with SweepLog(max_iter=max_iter, tol=tol, data_rms=data_rms, verbose=verbose,
                  desc="altmin (dask)") as log:
        for sweep in range(1, max_iter + 1):
            if keep_orthonormal:
                U_f, V_f = _orthonormalize_remote(client, U_f, V_f)
            V_f, cb_f, steps_v = remote_half_step(col_blocks, U_f, V_f, lam_cols, row_counts_f,
                                           cb_f, rb_f, sweep, 0)
            if keep_orthonormal:
                V_f, U_f = _orthonormalize_remote(client, V_f, U_f)
            U_f, rb_f, steps_u = remote_half_step(row_blocks, V_f, U_f, lam_rows, col_counts_f,
                                           rb_f, cb_f, sweep, 1)
            errors = [client.submit(_block_squared_error, b, U_f, V_f, rb_f, cb_f, pure=False)
                      for b in row_blocks]
            squared_error, steps = client.gather([client.submit(sum, errors, pure=False),
                                                  client.submit(sum, [steps_u, steps_v],
                                                                pure=False)])
            if log.finished(float(np.sqrt(squared_error / nnz)), cg_steps=steps):
                break
    if keep_factors:
        U = _as_dask_array(U_f, (shape[0], rank), dtype)
        V = _as_dask_array(V_f, (shape[1], rank), dtype)
        if bias:
            row_bias = _as_dask_array(rb_f, (shape[0],), dtype)
            col_bias = _as_dask_array(cb_f, (shape[1],), dtype)
    else:
        U, V = client.gather([U_f, V_f])
        if bias:
            row_bias, col_bias = client.gather([rb_f, cb_f])
    return log.result(U, V, solver=solver, row_bias=row_bias, col_bias=col_bias,
                      n_blocks=len(row_blocks))


def _partition_sums(frame, key, other, offset, other_bias, size):
    """Per-``key`` sums of ``value - offset - other_bias[other]`` over one partition."""
    values = frame["value"].to_numpy(np.float64) - offset
    if other_bias is not None:
        values = values - other_bias[frame[other].to_numpy(np.int64)]
    return np.bincount(frame[key].to_numpy(np.int64), values, minlength=size)


def _shift_values(frame, mu, row_bias, col_bias):
    values = frame["value"].to_numpy() - mu
    if row_bias is not None:
        values = (values - row_bias[frame["row"].to_numpy(np.int64)]
                  - col_bias[frame["col"].to_numpy(np.int64)])
    return frame.assign(value=values.astype(frame["value"].dtype))


def fit_biases_distributed(client, triples, kind, bias_reg, passes=5):
    """:func:`numsolve.completion._bias.fit_biases` for dask triples, on the cluster.

    Returns ``(mu, row_bias, col_bias, residual_triples, shape)``; only vectors of the
    matrix's row and column counts reach the client.
    """
    import dask

    shape, row_counts, col_counts, _, _ = count_and_shape(client, triples)
    dtype = triples["value"].dtype
    mu = float(client.compute(triples["value"].mean()).result()) if kind != "none" else 0.0
    row_bias = col_bias = None
    if kind == "full":
        parts = triples.to_delayed()
        col_bias = np.zeros(shape[1])
        for _ in range(passes):
            sums = client.gather(client.compute([dask.delayed(_partition_sums)(
                part, "row", "col", mu, col_bias, shape[0]) for part in parts]))
            row_bias = np.sum(sums, axis=0) / (row_counts + bias_reg + 1e-300)
            sums = client.gather(client.compute([dask.delayed(_partition_sums)(
                part, "col", "row", mu, row_bias, shape[1]) for part in parts]))
            col_bias = np.sum(sums, axis=0) / (col_counts + bias_reg + 1e-300)
    residual = triples.map_partitions(_shift_values, mu, row_bias, col_bias,
                                      meta=triples._meta)
    zeros = (np.zeros(shape[0], dtype), np.zeros(shape[1], dtype))
    row_bias = zeros[0] if row_bias is None else row_bias.astype(dtype)
    col_bias = zeros[1] if col_bias is None else col_bias.astype(dtype)
    return np.dtype(dtype).type(mu), row_bias, col_bias, residual, shape


def _held(client, array):
    """A future of ``array`` that Dask can recompute if the worker holding it is lost.

    Scattered data has no lineage; a task that returns its argument does.
    """
    return client.submit(_same, array, pure=False)


def _same(value):
    return value


def _item(values, index):
    return values[index]


def _orthonormalize_remote(client, fixed, other):
    """QR of a factor on a worker (the other factor absorbs R)."""
    pair = client.submit(orthonormalize, fixed, other, pure=False)
    return client.submit(_item, pair, 0, pure=False), client.submit(_item, pair, 1, pure=False)
