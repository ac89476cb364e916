"""Provider adapters behind the send port: the sandbox now; Gmail and Twilio plug in the same way."""
