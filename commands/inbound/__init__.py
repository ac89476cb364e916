"""What contacts and providers tell the service after a send: replies, opt-outs, delivery reports."""
