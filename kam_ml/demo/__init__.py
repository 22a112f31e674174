"""A seeded demo book that follows the data contract, with planted and recorded truth."""
