"""Resolving user-given names (``"relu"``, ``"adam"``) with helpful errors."""

import difflib


def unknown_name_error(kind: str, name, valid_names) -> ValueError:
    """A ValueError for an unknown ``kind`` name, listing valid names and close matches."""
    valid = sorted(valid_names)
    message = f"unknown {kind} {name!r}; valid names: {', '.join(valid)}"
    close = difflib.get_close_matches(str(name).lower(), valid, n=3)
    if close:
        message += f" (did you mean {' or '.join(repr(c) for c in close)}?)"
    return ValueError(message)
