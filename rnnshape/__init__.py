"""rnnshape: the shapes and semantics of Keras recurrent layers, measured on real runs."""

__version__ = "0.1.0"
