"""Where samerun meets the tools users have: pytest, Lightning, Transformers, MLflow, DVC."""
