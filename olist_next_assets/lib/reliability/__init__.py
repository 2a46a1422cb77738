"""Reliability corpora and runners (bad source files, ...), shared by the tests and ``olist-next bench``."""
