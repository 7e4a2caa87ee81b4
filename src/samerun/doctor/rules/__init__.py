"""The built-in rules; importing this package registers them."""

from samerun.doctor.rules import boosting, defaults, notebooks, ordering, randomness, torch

__all__ = ["boosting", "defaults", "notebooks", "ordering", "randomness", "torch"]
