"""Training and evaluation: never imported when serving.

``commands`` runs the command-line commands that train or measure. ``data`` reads GTZAN-style
folders, ``cnn`` trains the image CNN, ``embed`` computes every backbone view of the files (cached),
``bands`` fits the image path's band map, ``heads`` fits the linear genre heads, ``calibration`` and ``heldout`` choose fusion weights,
temperatures and thresholds (on one half of valid, reported on the other), ``fusion`` writes the
fused model, ``evaluate`` and ``evaluate_fusion`` measure. ``detector``, ``detector_data``, ``sounds``
and ``speech`` train the music detector on generated non-music; ``musicnn`` imports the pretrained
weights from musicnn's wheel and ``export`` converts the networks to ONNX.
"""
