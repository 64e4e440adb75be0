"""
Segmenting an image from a few labelled pixels
==============================================

Label propagation on an image lattice: every pixel is a node joined to its four neighbours
by an affinity that decays with the difference of their intensities, so labels spread within
regions and hardly across their borders. A handful of pixels of each region are labelled;
:class:`~numsolve.semi_supervised.LabelPropagation` with ``kernel="precomputed"`` labels all
the others from the harmonic solution, which its forest blocks solve in linear time per sweep
(a lattice splits into two forests of paths). The nearest labelled pixel, which ignores the
image, is the baseline.
"""

import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from numsolve.semi_supervised import LabelPropagation, lattice_graph

# A noisy image of three regions: background, a disc and a ring around it.
rows, columns = 90, 120
i, j = np.mgrid[:rows, :columns]
radius = np.hypot(i - 45, j - 55)
truth = np.where(radius < 16, 1, np.where((radius > 24) & (radius < 33), 2, 0))
rng = np.random.default_rng(0)
image = np.choose(truth, [0.1, 1.0, 0.55]) + 0.1 * rng.standard_normal(truth.shape)

# 4-neighbour lattice with affinities exp(-beta (difference of intensities)^2).
lattice = lattice_graph(rows, columns, weight=1.0).tocoo()
intensity = image.ravel()
beta = 60.0
weights = np.exp(-beta * (intensity[lattice.row] - intensity[lattice.col]) ** 2)
W = sp.csr_matrix((weights, (lattice.row, lattice.col)), shape=lattice.shape)

# Ten labelled pixels per region; -1 marks the unlabelled ones.
y = np.full(rows * columns, -1)
for region in range(3):
    y[rng.choice(np.flatnonzero(truth.ravel() == region), 10, replace=False)] = region
labelled = np.flatnonzero(y >= 0)

# %%
# Propagate, and compare with the label of the nearest labelled pixel.
model = LabelPropagation(kernel="precomputed").fit(W, y)
segmentation = model.transduction_.reshape(rows, columns)
pixels = np.column_stack([i.ravel(), j.ravel()])
nearest = y[labelled][cKDTree(pixels[labelled]).query(pixels)[1]].reshape(rows, columns)
print(f"label propagation: {np.mean(segmentation == truth):.3f} of the pixels right "
      f"({model.n_iter_} iterations)")
print(f"nearest labelled pixel: {np.mean(nearest == truth):.3f}")

fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
axes[0].imshow(image, cmap="gray")
axes[0].scatter(pixels[labelled, 1], pixels[labelled, 0], c=y[labelled], cmap="viridis",
                vmin=0, vmax=2, edgecolor="white", s=30)
axes[0].set_title("image and labelled pixels")
axes[1].imshow(segmentation, cmap="viridis", vmin=0, vmax=2)
axes[1].set_title(f"label propagation ({np.mean(segmentation == truth):.1%} right)")
axes[2].imshow(nearest, cmap="viridis", vmin=0, vmax=2)
axes[2].set_title(f"nearest labelled pixel ({np.mean(nearest == truth):.1%} right)")
for ax in axes:
    ax.axis("off")
fig.tight_layout()
plt.show()
