"""A local emulator of Twilio TaskRouter v1: routing engine, state and HTTP API."""
