#!/usr/bin/env python3
"""mkoci - write a small OCI image (layout dir or oci-archive tar) whose
layers are given as tar members, for the image-file tests.

    mkoci.py OUT SPEC.json

SPEC: {"format": "dir" | "tar", "compress": "gzip" | "zstd" | "none",
       "layers": [LAYER, ...],                  # bottom first
       "corrupt": "blob" | "diff_id" | null,     # break one digest
       "tag": "NAME" | null,
       "platforms": ["linux/amd64", "linux/arm64", ...]  # a nested index
      }                                         # prints each config digest
LAYER: [MEMBER, ...], or {"tar": PATH} (a tar file made elsewhere, GNU
       sparse members say), or {"blob": PATH, "diff_id": D, "media": M}
       (a compressed blob used as it is, read in chunks: a big one)
MEMBER: {"name": N, "type": "file"|"dir"|"symlink"|"hardlink"|"fifo",
         "data": TEXT, "size": BYTES (a sparse file: data at its start,
         zeros to SIZE), "mode": M, "uid": U, "gid": G, "mtime": S,
         "link": TARGET, "caps": HEX (security.capability)}
Names are written as given ("../x" and "/x" included): this is for
hostile archives too.  Zstd needs the zstd program.
"""
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile


def layer_tar(members):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as t:
        for m in members:
            info = tarfile.TarInfo(m["name"])
            info.mode = m.get("mode", 0o644)
            info.uid = m.get("uid", 0)
            info.gid = m.get("gid", 0)
            info.mtime = m.get("mtime", 1700000000)
            kind = m.get("type", "file")
            data = None
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                info.mode = m.get("mode", 0o755)
            elif kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = m["link"]
            elif kind == "hardlink":
                info.type = tarfile.LNKTYPE
                info.linkname = m["link"]
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
            else:
                data = m.get("data", "").encode()
                size = m.get("size", len(data))
                data = data + bytes(size - len(data))
                info.size = size
            if "caps" in m:
                info.pax_headers = {
                    "SCHILY.xattr.security.capability":
                        bytes.fromhex(m["caps"]).decode("latin-1")}
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def compress(raw, how):
    if how == "gzip":
        return gzip.compress(raw, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip"
    if how == "zstd":
        z = subprocess.run(["zstd", "-q", "-c"], input=raw, check=True,
                           stdout=subprocess.PIPE).stdout
        return z, "application/vnd.oci.image.layer.v1.tar+zstd"
    return raw, "application/vnd.oci.image.layer.v1.tar"


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def sha_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest(), os.path.getsize(path)


def main():
    out, spec = sys.argv[1], json.load(open(sys.argv[2]))
    blobs = {}          # digest -> bytes, or ("file", path)
    descs, diff_ids = [], []
    for layer in spec["layers"]:
        if isinstance(layer, dict) and "blob" in layer:
            d, size = sha_file(layer["blob"])
            blobs[d] = ("file", layer["blob"])
            diff_ids.append(layer["diff_id"])
            descs.append({"mediaType": layer["media"], "digest": d, "size": size})
            continue
        if isinstance(layer, dict):
            raw = open(layer["tar"], "rb").read()
        else:
            raw = layer_tar(layer)
        blob, media = compress(raw, spec.get("compress", "gzip"))
        diff_ids.append(sha(raw))
        d = sha(blob)
        if spec.get("corrupt") == "blob":   # after its digest was taken
            blob = blob[:-1] + bytes([blob[-1] ^ 1])
            spec["corrupt"] = None
        if spec.get("corrupt") == "diff_id":
            diff_ids[-1] = "sha256:" + "0" * 64
            spec["corrupt"] = None
        blobs[d] = blob
        descs.append({"mediaType": media, "digest": d, "size": len(blob)})
    # one manifest per platform (the same layers), under a nested index
    # when there are several; the config digest of each is printed
    plats = spec.get("platforms") or ["linux/amd64"]
    mdescs, printed = [], []
    for plat in plats:
        os_, arch = plat.split("/")[:2]
        config = json.dumps({"architecture": arch, "os": os_,
                             "rootfs": {"type": "layers", "diff_ids": diff_ids},
                             "config": {}}).encode()
        blobs[sha(config)] = config
        printed.append(sha(config))
        manifest = json.dumps({"schemaVersion": 2,
                               "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                          "digest": sha(config), "size": len(config)},
                               "layers": descs}).encode()
        blobs[sha(manifest)] = manifest
        d = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
             "digest": sha(manifest), "size": len(manifest)}
        if len(plats) > 1:
            d["platform"] = {"os": os_, "architecture": arch}
        mdescs.append(d)
    if len(mdescs) > 1:
        nested = json.dumps({"schemaVersion": 2,
                             "mediaType": "application/vnd.oci.image.index.v1+json",
                             "manifests": mdescs}).encode()
        blobs[sha(nested)] = nested
        mdesc = {"mediaType": "application/vnd.oci.image.index.v1+json",
                 "digest": sha(nested), "size": len(nested)}
    else:
        mdesc = mdescs[0]
    if spec.get("tag"):
        mdesc["annotations"] = {"org.opencontainers.image.ref.name": spec["tag"]}
    files = {"oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode(),
             "index.json": json.dumps({"schemaVersion": 2,
                                       "manifests": [mdesc]}).encode()}
    for d, b in blobs.items():
        files["blobs/sha256/" + d[7:]] = b
    if spec.get("format", "tar") == "dir":
        for name, b in files.items():
            p = os.path.join(out, name)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            if isinstance(b, tuple):
                with open(b[1], "rb") as src, open(p, "wb") as dst:
                    for chunk in iter(lambda: src.read(1 << 20), b""):
                        dst.write(chunk)
            else:
                open(p, "wb").write(b)
    else:
        with tarfile.open(out, "w") as t:
            for name, b in files.items():
                info = tarfile.TarInfo(name)
                if isinstance(b, tuple):
                    info.size = os.path.getsize(b[1])
                    with open(b[1], "rb") as src:
                        t.addfile(info, src)
                else:
                    info.size = len(b)
                    t.addfile(info, io.BytesIO(b))
    print(" ".join(printed))


main()
