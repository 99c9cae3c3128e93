#!/usr/bin/env python3
"""Prints one JSON line per entry below a root: what a tree comparison needs, names as hex bytes."""
import hashlib, json, os, stat, sys

root = os.fsencode(sys.argv[1])
with_times = len(sys.argv) > 2 and sys.argv[2] == "times"
inodes = {}

def describe(path, rel):
    st = os.lstat(path)
    kind = stat.S_IFMT(st.st_mode)
    entry = {"path": rel.hex(), "mode": oct(stat.S_IMODE(st.st_mode)), "uid": st.st_uid, "gid": st.st_gid}
    if stat.S_ISDIR(kind):
        entry["type"] = "dir"
    elif stat.S_ISREG(kind):
        entry["type"] = "file"
        entry["size"] = st.st_size
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        entry["sha256"] = h.hexdigest()
    elif stat.S_ISLNK(kind):
        entry["type"] = "symlink"
        entry["target"] = os.readlink(path).hex()
        del entry["mode"]
    elif stat.S_ISCHR(kind) or stat.S_ISBLK(kind):
        entry["type"] = "char" if stat.S_ISCHR(kind) else "block"
        entry["rdev"] = [os.major(st.st_rdev), os.minor(st.st_rdev)]
    elif stat.S_ISFIFO(kind):
        entry["type"] = "fifo"
    else:
        entry["type"] = "other"
    if not stat.S_ISDIR(kind) and st.st_nlink > 1:
        first = inodes.setdefault(st.st_ino, rel)
        entry["linkgroup"] = first.hex()
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        names = []
    entry["xattrs"] = {n: os.getxattr(path, n, follow_symlinks=False).hex() for n in sorted(names)}
    if with_times and not stat.S_ISLNK(kind):
        entry["mtime_ns"] = st.st_mtime_ns
    return entry

out = []
for dirpath, dirnames, filenames in os.walk(root):
    dirnames.sort()
    for name in sorted(dirnames) + sorted(filenames):
        full = os.path.join(dirpath, name)
        out.append(describe(full, os.path.relpath(full, root)))
out.sort(key=lambda e: e["path"])
# Link groups are named by the first path seen; make them order-independent.
for e in out:
    print(json.dumps(e, sort_keys=True))
