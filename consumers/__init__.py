"""What reacts to messages and time: the relay, channel workers, provider adapters, background loops."""
