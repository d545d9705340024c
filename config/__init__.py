"""Configuration: the Settings object and the admin-edited agencies file.

Depends on nothing else of ours; everything else may read it.
"""
