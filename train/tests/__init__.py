"""Tests of the training, folding, QAT and export code."""
