"""Encodes and decodes the ML Metadata messages Flowbook uses with MLMD's own protos (the
ml-metadata wheel in .venv-kfp), so the TypeScript codec is checked against the real thing.

Reads one JSON command per line on stdin, writes one JSON answer per line:
  {"op": "encodeRequest", "ids": ["12"]}            -> {"hex": ...}
  {"op": "decodeRequest", "hex": ...}               -> {"ids": [...]}
  {"op": "encodeResponse", "artifacts": [...]}      -> {"hex": ...}   (deterministic)
  {"op": "decodeResponse", "hex": ...}              -> {"artifacts": [...]}
An artifact is {"id", "name"?, "type"?, "uri"?, "customProperties": {k: number|string|bool|
{"int": "7"}|{"struct": {...}}}}.
"""
import importlib.util
import json
import os
import sys
import types

# The wheel's package __init__ loads its gRPC stubs and C++ store; only the generated
# message modules are needed, so the packages are set up bare around them.
_spec = importlib.util.find_spec("ml_metadata")
if _spec is None or _spec.origin is None:
    sys.exit("ml_metadata is not installed in this venv: run `bash scripts/setup.sh`")
_root = os.path.dirname(_spec.origin)
for _name, _path in (("ml_metadata", _root), ("ml_metadata.proto", os.path.join(_root, "proto"))):
    _module = types.ModuleType(_name)
    _module.__path__ = [_path]
    sys.modules[_name] = _module

from ml_metadata.proto import metadata_store_pb2 as store  # noqa: E402
from ml_metadata.proto import metadata_store_service_pb2 as service  # noqa: E402


def set_value(target, value):
    if isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, (int, float)):
        target.double_value = float(value)
    elif isinstance(value, str):
        target.string_value = value
    elif "int" in value:
        target.int_value = int(value["int"])
    else:
        target.struct_value.update(value["struct"])


def get_value(v):
    which = v.WhichOneof("value")
    if which == "double_value":
        return v.double_value
    if which == "int_value":
        return {"int": str(v.int_value)}
    if which == "string_value":
        return v.string_value
    if which == "bool_value":
        return v.bool_value
    return {"other": which}


def handle(cmd):
    op = cmd["op"]
    if op == "encodeRequest":
        req = service.GetArtifactsByIDRequest(artifact_ids=[int(i) for i in cmd["ids"]])
        return {"hex": req.SerializeToString().hex()}
    if op == "decodeRequest":
        req = service.GetArtifactsByIDRequest()
        req.ParseFromString(bytes.fromhex(cmd["hex"]))
        return {"ids": [str(i) for i in req.artifact_ids]}
    if op == "encodeResponse":
        res = service.GetArtifactsByIDResponse()
        for a in cmd["artifacts"]:
            art = res.artifacts.add()
            art.id = int(a["id"])
            for key in ("name", "type", "uri"):
                if key in a:
                    setattr(art, key, a[key])
            for k, v in a.get("customProperties", {}).items():
                set_value(art.custom_properties[k], v)
        return {"hex": res.SerializeToString(deterministic=True).hex()}
    if op == "decodeResponse":
        res = service.GetArtifactsByIDResponse()
        res.ParseFromString(bytes.fromhex(cmd["hex"]))
        out = []
        for art in res.artifacts:
            a = {"id": str(art.id), "customProperties": {k: get_value(v) for k, v in art.custom_properties.items()}}
            for key in ("name", "type", "uri"):
                if art.HasField(key):
                    a[key] = getattr(art, key)
            out.append(a)
        return {"artifacts": out}
    raise ValueError(f"unknown op {op}")


for line in sys.stdin:
    if line.strip():
        print(json.dumps(handle(json.loads(line))), flush=True)
