"""What the `usher-assets` CLI shows and does: checkpoints listed, explained, verified, deleted and exported."""
