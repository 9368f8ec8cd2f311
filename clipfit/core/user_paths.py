"""What is wrong with a folder the user named (a data root): said with the path as given and as resolved."""
from __future__ import annotations

import os


def folder_problem(given: str, key: str, base: str = "", base_is: str = "the current directory") -> str | None:
    """Why `given`, the folder set by `key` (DATA, --root, DATASET.ROOT), cannot be used; None when it is a folder.

    A relative path is resolved against `base` (default: the current directory), described as `base_is`;
    the message then says so and names the folder it was taken to be: "does not exist" alone leaves the user
    guessing relative to what.
    """
    expanded = os.path.expanduser(given)
    base = base or os.getcwd()
    path = os.path.normpath(os.path.join(base, expanded))
    if os.path.isdir(path):
        return None
    if os.path.exists(path):
        what = "is a file, not a folder"
    elif os.path.islink(path):
        what = f"is a symbolic link to {os.readlink(path)}, which does not exist"
    else:
        what = "does not exist"
    if os.path.isabs(expanded):
        return f"{key} {given} {what}"
    return f"{key} {given} {what}: a relative path is resolved against {base_is} ({base}), giving {path}"
