"""flexsim: make a Twilio Flex contact center look alive."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("flexsim")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
