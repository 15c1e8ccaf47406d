"""A force's record store: submissions, current records and their earlier versions."""
