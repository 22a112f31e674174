"""Pure metric functions for classification, ranking and regression, and the grade scale."""
