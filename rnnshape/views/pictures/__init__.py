"""The pictures: a layer unrolled over time, a stack, stateful batches, compare's structures."""
