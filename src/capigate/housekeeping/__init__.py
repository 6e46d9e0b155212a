"""Housekeeping: the store's purges, run every so often by one gateway process at a time.

``config`` reads the ``housekeeping:`` settings (pure); ``job`` runs the purges (``Housekeeper``)
and keeps them running in the background of ``capigate serve`` (``running``).
"""
