"""Loopback fakes of the providers, for tests: real SDKs talk to them over 127.0.0.1."""
