"""Composite score, tiers, validation and the candidate report, as plain functions."""
