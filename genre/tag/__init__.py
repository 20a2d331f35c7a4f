"""Tagging a music library: ``python -m genre tag``.

``walk`` finds the songs, ``ledger`` keeps the resumable results file, ``job`` turns one song into
one row in a worker, ``run`` drives the pool, the progress bar and the summary, ``write`` puts the
genre into the file's tags with mutagen, and ``ray`` runs the same jobs on a Ray cluster.
Optional dependencies: mutagen and tqdm (requirements.txt), Ray (requirements-scale.txt).
"""
