"""Framework-free recommender engine: collaborative filtering blended with emotional reactions.

Nothing here imports Django, so the engine can be trained, evaluated and tested on plain
arrays; the Django app only turns its interaction log into events and calls this package::

    data = build_matrix(events)                                  # matrix.Event per log row
    model = FactorModel.train(data.confidence, ALSParams(), num_threads=1)
    save_artefact(path, model, data.users, data.items, metrics)  # load_artefact(path) to serve
    # serving one shopper, including interactions made since training:
    model.fold_in(np.array([u]), row)                            # row: the shopper's CSR row
    signal = AffectSignal.from_pairs(users, items, shrunk_valence(seconds), shape, item_category)
    ranked = top_k(BlendedScorer(model, signal, weight).scores(np.array([u])), row, 10)

Modules: matrix (events -> confidences), cf (ALS/BPR/popularity, artefacts), affect (valence
and the blend), ranking/metrics (top-k, hold-out, metrics), tuning (validation grid searches),
datasets/simulate/evaluate (offline benchmarks).
"""
