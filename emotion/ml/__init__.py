"""Framework-free facial-emotion ML code (training, evaluation, inference).

Nothing in this package imports Django, so it can be trained and tested on
its own; the Django app only wraps it.
"""
