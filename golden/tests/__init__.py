"""Tests of the golden integer model."""
