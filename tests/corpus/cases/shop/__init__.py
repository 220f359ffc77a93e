"""A package that re-exports its database helpers (cases in shop/checkout.py)."""

from .db import iter_orders, order_session, transaction

__all__ = ["iter_orders", "order_session", "transaction"]
