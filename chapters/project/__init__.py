"""Chapters 7 and 9: the end-to-end project (Fashion-MNIST), built from chapters 2-5's pieces."""
