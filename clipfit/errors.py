"""Errors caused by user input; the command line prints them without a traceback."""


class UserInputError(Exception):
    """Something the user supplied (a flag, a config file, a path) is wrong; the message says how to fix it."""
