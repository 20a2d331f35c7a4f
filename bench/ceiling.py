"""Where the images stop, and why: three measurements behind the card's "Why the images stop".

Prints figures; asserts nothing. Run after the card's validation run (``runs/ens3``, and
``runs/fused`` with ``--cache runs/emb-cache``): ``python -m bench.ceiling [--finetune]``.

1. *More songs*: the image-path head (L2 0.03, as shipped) fitted on stratified subsets of the
   train list's 442 images, 8 draws a size, measured on the 197 valid images. The slope says
   what the shipped model's 639 training images (train + valid) should add on unseen images.
2. *Time detail*: the 53 valid recordings that exist both as a whole 30-s audio clip and as a
   mel image, each judged by the audio head on its audio and by the image head on its image
   (heads on the train list). If the image's 12.9 columns a second were what held the images
   back, the audio would win on the same recordings.
3. *Fine-tuning* (``--finetune``, about 5 min an epoch on 2 cores): the whole backbone (batch norm
   frozen) trained on the image path through the image head's song mean, pulled to its
   pretrained weights (L2-SP), the head starting from the linear fit; valid images after each
   epoch, alone and fused 0.5 / 0.5 with the validation run's CNN.
"""
from __future__ import annotations

import time

import numpy as np

from genre import backbone, fusion, heads
from genre.training.evaluate import windows_of
from genre.training.heads import fit_head, fit_heads

from . import validation

IMAGE_L2 = 0.03  # the shipped image head's (model/fusion.json)
AUDIO_L2 = 0.1  # the audio head's when the card's figures were measured (model/fusion.json now ships 0.03)
FRACTIONS = (0.4, 0.55, 0.7, 0.85, 1.0)
DRAWS = 8
WINDOWS = 9  # windows_of gives 9 for every GTZAN image (387 columns)
EPOCHS = 3
LEARNING_RATE = 1e-5
PULL = 1e-3  # L2-SP: weight of the squared distance to the pretrained weights
SONGS_A_STEP = 8


def song_means(songs) -> tuple[np.ndarray, np.ndarray]:
    """The image songs' mean embeddings (n, 200) and labels."""
    images = [s for s in songs if s.kind == "mel-image"]
    return np.stack([s.image_emb.mean(0) for s in images]), np.array([s.label for s in images])


def accuracy(head, x: np.ndarray, y: np.ndarray) -> float:
    return float((np.asarray(head(x)).argmax(1) == y).mean())


def more_songs(run: validation.ValidationRun) -> None:
    x, y = song_means(run.train)
    xv, yv = song_means(run.valid)
    rng = np.random.default_rng(0)
    print(f"1. the image head alone on subsets of the train list, {len(yv)} valid images:")
    for frac in FRACTIONS:
        scores = []
        for _ in range(DRAWS if frac < 1 else 1):
            idx = np.concatenate([rng.permutation(np.flatnonzero(y == g))[:round(frac * (y == g).sum())]
                                  for g in range(len(run.genres))])
            scores.append(accuracy(fit_head(x[idx], y[idx], len(run.genres), l2=IMAGE_L2), xv, yv))
        print(f"   {len(idx):>3} songs: {np.mean(scores):.3f} +- {np.std(scores):.3f}", flush=True)


def time_detail(run: validation.ValidationRun) -> None:
    fitted = fit_heads(run.train, len(run.genres), l2={"audio": AUDIO_L2, "image": IMAGE_L2})
    images = {s.id: s for s in run.valid if s.kind == "mel-image"}
    pairs = [(s, images[s.id]) for s in run.valid if s.kind == "full" and s.id in images]
    audio = np.mean([fusion.head_logp(fitted["audio"], a.heard("audio", heads.READS["audio"]))[1].argmax() == a.label
                     for a, _ in pairs])
    image = np.mean([fusion.head_logp(fitted["image"], i.heard("image", heads.READS["image"]))[1].argmax() == i.label
                     for _, i in pairs])
    print(f"2. the {len(pairs)} valid recordings heard both ways: audio head on the audio {audio:.3f}, "
          f"image head on the image {image:.3f}", flush=True)


def finetune(run: validation.ValidationRun) -> None:
    import keras
    import tensorflow as tf

    def pack(items, songs):
        kept = [(i, s) for i, s in zip(items, songs, strict=True) if s.kind == "mel-image"]
        if any(i.id != s.id for i, s in kept):
            raise ValueError("the songs do not follow the items")  # cached_embed skips unknown genres
        patches = np.stack([run.band_map.patches(windows_of(i)[:WINDOWS]) for i, _ in kept])
        return patches, np.array([s.label for _, s in kept]), [s for _, s in kept]

    xt, yt, _ = pack(run.train_items, run.train)
    xv, yv, kept = pack(run.valid_items, run.valid)
    log_cnn = np.log(np.stack([s.cnn["cnn"].mean(0) for s in kept]) + 1e-9)
    net = keras.saving.load_model(fusion.MODEL_DIR / backbone.MODEL_FILE, compile=False)
    for layer in net.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False  # inference mode: 8 songs a step are too few for batch statistics
    embed = keras.Model(net.inputs, net.get_layer("embedding").output)
    weights = embed.trainable_variables
    pretrained = [tf.constant(w.numpy()) for w in weights]

    def means(x):
        return np.concatenate([embed(x[i:i + 4].reshape(-1, *x.shape[2:]), training=False).numpy()
                               .reshape(-1, WINDOWS, backbone.EMBEDDING_UNITS).mean(1) for i in range(0, len(x), 4)])

    head = fit_head(means(xt), yt, len(run.genres), l2=IMAGE_L2)

    def report(label):
        logp = np.log(np.asarray(head(means(xv))) + 1e-9)
        print(f"   {label}: alone {(logp.argmax(1) == yv).mean():.3f}, "
              f"fused with the CNN {((0.5 * logp + 0.5 * log_cnn).argmax(1) == yv).mean():.3f}", flush=True)

    print(f"3. the whole backbone fine-tuned on the {len(yt)} train images, {len(yv)} valid images:")
    report("epoch 0 (pretrained)")
    opt = keras.optimizers.Adam(LEARNING_RATE)
    variables = weights + head.trainable_variables

    @tf.function(reduce_retracing=True, autograph=False)  # straight-line; autograph writes temporary files
    def step(x, y):
        with tf.GradientTape() as tape:
            e = tf.reduce_mean(tf.reshape(embed(tf.reshape(x, (-1, *x.shape[2:])), training=True),
                                          (-1, WINDOWS, backbone.EMBEDDING_UNITS)), axis=1)
            p = head(e, training=True)
            loss = -tf.reduce_mean(tf.math.log(tf.gather(p, y, batch_dims=1) + 1e-9))
            loss += PULL * tf.add_n([tf.reduce_sum((w - w0) ** 2) for w, w0 in zip(weights, pretrained)])
            loss += IMAGE_L2 * tf.reduce_sum(head.trainable_variables[0] ** 2)
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    rng = np.random.default_rng(0)
    for epoch in range(1, EPOCHS + 1):
        started = time.time()
        losses = [float(step(xt[idx], yt[idx])) for idx in np.array_split(rng.permutation(len(yt)),
                                                                          len(yt) // SONGS_A_STEP)]
        report(f"epoch {epoch} (training loss {np.mean(losses):.3f}, {time.time() - started:.0f} s)")


def main() -> None:
    run, args = validation.from_command_line(__doc__, {"finetune": "also fine-tune the backbone (15 min)"})
    more_songs(run)
    time_detail(run)
    if args.finetune:
        finetune(run)


if __name__ == "__main__":
    main()
