"""linuxreport: a news aggregator that builds a static site and publishes it to a bucket."""

__version__ = "0.1.0"
