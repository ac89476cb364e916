"""Shared PostgreSQL access for the write side's plain tables and the read models."""
