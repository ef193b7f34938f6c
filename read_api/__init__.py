"""Queries over view tables, returning DTOs; Litestar controllers for GET endpoints."""
