"""The pure model of Keras' rules: specs, the stack language, windows, contracts, limits. No numpy, no Keras, no file reading."""
