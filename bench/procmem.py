"""Memory of a server process tree, read from /proc (shared by the bench scripts)."""


def pss_kb(pid):
    """PSS of the process and its children, in KiB (shared pages counted once)."""
    total = 0
    for p in [pid] + children(pid):
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []
