"""Independent check of captured frames with cbor2 (Debian's python3-cbor2).

Usage: decode_frames.py CAPTURE_FILE
Splits the file into u32-LE-length-prefixed frames, decodes each body with cbor2 and checks
design section 2: at most 4096 bytes, a map whose first five keys are the wire keys in order
with their types, major version 1 (minor 1 exactly when extra keys follow, each an unsigned or
negative integer, a boolean, text or a list of text), and preferred
serialization (re-encoding the decoded map gives back the same bytes: shortest integers,
definite lengths, no tags or floats). Prints one JSON object per frame; exits 1 on the first
violation, saying which frame and why.
"""
import json
import struct
import sys

import cbor2

KEYS = ["content_version", "probe_source", "guest_pid", "guest_comm", "guest_monotonic_ns"]


def typed_extra(value):
    """Wire revision 1.1: unsigned, negative (down to -2^63), bool, text, list of text."""
    if isinstance(value, bool) or isinstance(value, str):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**64
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def fail(index, why):
    print(f"frame {index}: {why}", file=sys.stderr)
    sys.exit(1)


def main(path):
    data = open(path, "rb").read()
    at, index = 0, 0
    while at < len(data):
        if len(data) - at < 4:
            fail(index, "truncated length prefix")
        (length,) = struct.unpack_from("<I", data, at)
        if length == 0 or length > 4096:
            fail(index, f"body length {length}")
        body = data[at + 4 : at + 4 + length]
        if len(body) != length:
            fail(index, "truncated body")
        obj = cbor2.loads(body)
        if not isinstance(obj, dict):
            fail(index, "not a map")
        keys = list(obj.keys())
        if keys[:5] != KEYS:
            fail(index, f"keys {keys}")
        version = obj["content_version"]
        if not isinstance(version, int) or version >> 8 != 1 or version > 0xFFFF:
            fail(index, f"content_version {version!r}")
        if (version == 0x0101) != (len(keys) > 5):
            fail(index, f"content_version {version:#06x} with {len(keys)} keys")
        if not isinstance(obj["probe_source"], str) or not isinstance(obj["guest_comm"], str):
            fail(index, "text fields are not text")
        if not 0 <= obj["guest_pid"] < 2**32 or not 0 <= obj["guest_monotonic_ns"] < 2**64:
            fail(index, "integer out of range")
        for key in keys[5:]:
            if not isinstance(key, str) or not typed_extra(obj[key]):
                fail(index, f"extra {key!r}")
        if cbor2.dumps(obj) != body:
            fail(index, "not in preferred serialization (re-encoding differs)")
        print(json.dumps(obj, ensure_ascii=False))
        at += 4 + length
        index += 1


if __name__ == "__main__":
    main(sys.argv[1])
