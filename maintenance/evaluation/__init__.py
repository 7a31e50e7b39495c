"""Scoring anomaly and changepoint detectors against labelled benchmark runs."""
