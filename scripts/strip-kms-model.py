#!/usr/bin/env python3
"""Copy botocore's KMS service model into specs/kms/service-2.json without the documentation strings.

trent's request validation, operation list and error names are read from this file (src/aws/model.rs), so the
crate is self-contained and the model can be refreshed with one command:

    python3 scripts/strip-kms-model.py ../shared/specs/aws-kms/service-2.json > specs/kms/service-2.json
"""
import json
import sys


def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k not in ("documentation", "documentationUrl", "examples")}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


model = json.load(open(sys.argv[1]))
json.dump(strip(model), sys.stdout, indent=1, sort_keys=True)
sys.stdout.write("\n")
