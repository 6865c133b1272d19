"""Framework-free recommender engine: collaborative filtering blended with emotional reactions.

Nothing here imports Django, so the engine can be trained, evaluated and tested on plain
arrays; the Django app only turns its interaction log into events and calls this package::

    data = build_matrix(events)                                    # matrix.Event per log row
    trained = select_and_fit(data, signal, config)                 # selection: pick, tune, fit
    save_artefact(path, trained.engine, data.users, data.items, trained.metrics)  # load_artefact
    # serving one shopper, including interactions made since training (fold-in):
    scores = trained.engine.score_history(row)                     # row: the shopper's CSR row
    signal = AffectSignal.from_pairs(users, items, shrunk_valence(seconds), shape, item_category)

Modules: matrix (events -> confidences), engines (EASE, ALS, BPR, item-kNN, popularity,
blends behind one interface; artefacts), cf (implicit wrappers), selection (engine selection
and the production training path), affect (valence and the blend), ranking/metrics (top-k,
hold-outs, metrics), tuning (validation grid searches), comparison (the production path
against baselines on any data), datasets/simulate/evaluate/emotion_lift (offline benchmarks).
"""
