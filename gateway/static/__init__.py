"""Static files the gateway serves (a package so that they ship in the wheel)."""
