"""The Joint Unit's indicator tables: federation, merging and disclosure control."""
