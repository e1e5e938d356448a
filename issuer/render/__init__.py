"""Rendering: QR symbols and printable cards."""
