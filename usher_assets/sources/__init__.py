"""Parsers for the publishers' own file formats, and the gene universe they map onto."""
