"""The one place that imports Keras: builds, runs, returns plain arrays; never judges them."""
