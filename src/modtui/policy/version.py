"""The rules classifier's version, apart from the classifier: reading it (is an unchanged re-run served from the log?)
does not load the normaliser and matchers."""

#: The version of the rules classifier's verdicts (normaliser and matching). Bump it with any change that can alter
#: a verdict: runs recorded under another version are then classified again instead of served from the log.
CLASSIFIER_VERSION = "1"
