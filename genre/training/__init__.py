"""Training and evaluation: never imported when serving.

``data`` reads GTZAN-style folders, ``cnn`` trains the image CNN, ``embed`` computes every backbone
view of the files (cached), ``calibration`` chooses fusion weights, temperatures and thresholds,
``fusion`` fits the heads and writes the fused model, ``evaluate`` and ``evaluate_fusion`` measure,
and ``musicnn`` imports the pretrained weights from musicnn's wheel.
"""
