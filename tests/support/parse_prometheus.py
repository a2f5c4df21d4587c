"""Parses Prometheus text exposition from stdin with the official Python client's parser and
prints one line per sample: name<TAB>labels as sorted k=v joined by ','<TAB>value.

Used by tests/metrics_mock.rs so the library's output is checked by a real parser, not by the
code that wrote it. Exits non-zero (with the parser's error) on malformed input.
"""
import sys

from prometheus_client.parser import text_string_to_metric_families

text = sys.stdin.read()
count = 0
for family in text_string_to_metric_families(text):
    for sample in family.samples:
        labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
        print(f"{sample.name}\t{labels}\t{sample.value!r}")
        count += 1
if count == 0:
    sys.exit("no samples parsed")
