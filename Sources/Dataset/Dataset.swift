// Module Dataset.
