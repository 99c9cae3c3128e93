#!/usr/bin/env python3
"""Builds benchmark images offline from this machine's files and pushes them to a registry.

  images.py tar OUT.tar BUDGET_MB PATH...        a PAX layer of real files under PATH... (relative to /), in
                                                 sorted order, until BUDGET_MB of file data; symlinks and hardlinks kept
  images.py tag OUT.tar NAME                     a tiny layer that makes an image unique (one file naming it)
  images.py tiny OUT.tar base|top                a layer of a few KB with every kind of entry: the base holds files,
                                                 a directory, a symlink, a hard link and a character device; the top
                                                 rewrites a file, adds one and deletes one (a whiteout)
  images.py push REGISTRY REPO:TAG OUT.json (TAR BLOB MEDIATYPE)...
                                                 pushes config, layers and an OCI manifest with the distribution API;
                                                 writes the digests, chain IDs and sizes (uncompressed: the tars; compressed: the layer blobs)
"""
import hashlib, io, json, os, sys, tarfile, urllib.request


def layer_tar(out, budget_mb, paths):
    budget = int(float(budget_mb) * 1024 * 1024)
    used = 0
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        def add(path):
            nonlocal used
            try:
                info = tar.gettarinfo("/" + path, arcname=path)
            except OSError:
                return
            if info.isreg() and used >= budget:
                return
            if info.isreg():
                try:
                    with open("/" + path, "rb") as f:
                        tar.addfile(info, f)
                except OSError:
                    return
                if info.type == tarfile.REGTYPE:
                    used += info.size
            else:
                tar.addfile(info)
        for root in paths:
            root = root.strip("/")
            add(root)
            for dirpath, dirnames, filenames in os.walk("/" + root):
                dirnames.sort()
                for name in sorted(dirnames) + sorted(filenames):
                    if used >= budget:
                        return
                    add(os.path.relpath(os.path.join(dirpath, name), "/"))


def tag_tar(out, name):
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        data = f"{name}\n".encode()
        info = tarfile.TarInfo(f"etc/bench-image-{name}")
        info.size, info.mtime, info.mode = len(data), 1_700_000_000, 0o644
        tar.addfile(info, io.BytesIO(data))


def tiny_tar(out, which):
    def entry(tar, name, kind=tarfile.REGTYPE, data=b"", mode=0o644, **fields):
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.mtime, info.uid, info.gid = kind, mode, 1_700_000_000, 0, 0
        for key, value in fields.items():
            setattr(info, key, value)
        info.size = len(data) if kind == tarfile.REGTYPE else 0
        tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        if which == "base":
            entry(tar, "app", tarfile.DIRTYPE, mode=0o755)
            entry(tar, "app/config.json", data=b'{"name": "tiny"}\n' * 64)
            entry(tar, "app/run.sh", data=b"#!/bin/sh\nexec /app/server \"$@\"\n", mode=0o755)
            entry(tar, "app/server", data=bytes(range(256)) * 8, mode=0o755)
            entry(tar, "app/server.link", tarfile.LNKTYPE, linkname="app/server")
            entry(tar, "app/current", tarfile.SYMTYPE, linkname="server", mode=0o777)
            entry(tar, "dev", tarfile.DIRTYPE, mode=0o755)
            entry(tar, "dev/null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3)
            entry(tar, "etc", tarfile.DIRTYPE, mode=0o755)
            entry(tar, "etc/old.conf", data=b"old = true\n")
        else:
            entry(tar, "app", tarfile.DIRTYPE, mode=0o755)
            entry(tar, "app/config.json", data=b'{"name": "tiny", "version": 2}\n' * 64)
            entry(tar, "etc", tarfile.DIRTYPE, mode=0o755)
            entry(tar, "etc/.wh.old.conf")
            entry(tar, "etc/new.conf", data=b"new = true\n")


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def request(method, url, data=None, headers=None, length=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if length is not None:
        req.add_header("Content-Length", str(length))
    return urllib.request.urlopen(req)


def push_blob(base, repo, path_or_bytes, digest):
    try:
        request("HEAD", f"{base}/v2/{repo}/blobs/{digest}")
        return
    except urllib.error.HTTPError as e:
        if e.code != 404:
            raise
    location = request("POST", f"{base}/v2/{repo}/blobs/uploads/").headers["Location"]
    if location.startswith("/"):
        location = base + location
    url = f"{location}{'&' if '?' in location else '?'}digest={digest}"
    headers = {"Content-Type": "application/octet-stream"}
    if isinstance(path_or_bytes, bytes):
        request("PUT", url, path_or_bytes, headers, len(path_or_bytes))
    else:
        with open(path_or_bytes, "rb") as f:
            request("PUT", url, f, headers, os.path.getsize(path_or_bytes))


def push(registry, reference, out, layers):
    base = f"http://{registry}"
    repo, tag = reference.rsplit(":", 1)
    diff_ids, descriptors = [], []
    for tar_path, blob_path, media_type in layers:
        diff_ids.append(sha256_file(tar_path))
        digest = sha256_file(blob_path)
        push_blob(base, repo, blob_path, digest)
        descriptors.append({"mediaType": media_type, "digest": digest, "size": os.path.getsize(blob_path)})
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    push_blob(base, repo, config, config_digest)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": config_digest, "size": len(config)},
                           "layers": descriptors}).encode()
    request("PUT", f"{base}/v2/{repo}/manifests/{tag}", manifest,
            {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}, len(manifest))
    chain = []
    for d in diff_ids:
        chain.append(d if not chain else "sha256:" + hashlib.sha256(f"{chain[-1]} {d}".encode()).hexdigest())
    with open(out, "w") as f:
        json.dump({"reference": f"{registry}/{reference}", "config": config_digest,
                   "manifest": "sha256:" + hashlib.sha256(manifest).hexdigest(),
                   "layers": [d["digest"] for d in descriptors], "chain_ids": chain,
                   "uncompressed": sum(os.path.getsize(t) for t, _, _ in layers),
                   "compressed": sum(os.path.getsize(b) for _, b, _ in layers)}, f)


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "tar":
        layer_tar(args[0], args[1], args[2:])
    elif command == "tag":
        tag_tar(args[0], args[1])
    elif command == "tiny":
        tiny_tar(args[0], args[1])
    elif command == "push":
        rest = args[3:]
        push(args[0], args[1], args[2], [tuple(rest[i:i + 3]) for i in range(0, len(rest), 3)])
    else:
        sys.exit(__doc__)
