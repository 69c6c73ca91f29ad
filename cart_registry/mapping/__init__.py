"""Site mappings: the YAML spec, the closed registry of operations, and applying them.

``spec`` defines and loads the files (``mappings/<site>/site.yaml`` and one file per
canonical table), ``ops`` holds the operations, ``apply`` evaluates a rule over a source
table, ``check`` validates a mapping without loading data and ``draft`` writes a first
mapping from a REDCap dictionary.
"""
