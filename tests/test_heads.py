"""Linear genre heads on backbone embeddings."""
import numpy as np

from genre import heads
from genre.training.heads import fit_head
from genre.backbone import EMBEDDING_UNITS


def blobs(n_per_class=20, classes=3, seed=0, draw=None):
    """Songs around ``classes`` centres (fixed by ``seed``); ``draw`` picks other songs around the same ones."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (classes, EMBEDDING_UNITS))
    rng = rng if draw is None else np.random.default_rng(draw)
    x = np.concatenate([c + rng.normal(0, 1, (n_per_class, EMBEDDING_UNITS)) for c in centres])
    return x.astype(np.float32), np.repeat(np.arange(classes), n_per_class)


def test_head_learns_separable_songs():
    x, y = blobs()
    head = fit_head(x, y, 3)
    xt, yt = blobs(seed=0, draw=5)  # songs the head never saw, around the same centres
    assert (heads.log_probs(head, xt).argmax(1) == yt).mean() > 0.9


def test_numpy_log_probs_equal_the_keras_model():
    x, y = blobs()
    head = fit_head(x, y, 3)
    lp = heads.log_probs(head, x[:7])
    np.testing.assert_allclose(np.exp(lp), head.predict(x[:7], verbose=0), atol=1e-5)
    np.testing.assert_allclose(np.exp(lp).sum(1), 1.0, atol=1e-9)


def test_linear_head_mean_embedding_is_mean_logit():
    """Why a song's verdict is the head of its mean embedding: the mean of its clips' logits."""
    x, y = blobs()
    head = fit_head(x, y, 3)
    song = x[:10]
    z_mean = heads.log_probs(head, song.mean(0, keepdims=True))[0]
    z_clips = heads.log_probs(head, song).mean(0)
    # equal up to the log-softmax's normalising constant
    np.testing.assert_allclose(z_mean - z_mean.mean(), z_clips - z_clips.mean(), atol=1e-6)
