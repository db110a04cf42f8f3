"""Tools for scenario authors: the parameter reference command, what-if comparison, networks from town lists."""
