#!/usr/bin/python3
"""cri.py - a small CRI v1 client (crictl is not in Debian).

Talks gRPC to a CRI server (containerd's CRI plugin) over a unix socket,
using the message subset in cri.proto next to this file.  The Python
classes are generated with protoc on first use into a cache directory
(keyed by the .proto's hash); the RPC stubs are made here with grpc's
generic unary API, so grpc_tools is not needed.

usage: cri.py [--sock PATH] [--timeout S] VERB [ARGS]
  version | status | images | pull IMAGE | rmi IMAGE
  runp POD.json [--runtime HANDLER]        -> prints the sandbox id
  inspectp ID | stopp ID | rmp ID | pods
  create POD_ID CTR.json POD.json          -> prints the container id
  start ID | stop ID [--timeout S] | rm ID | inspect ID | stats ID
  ps [--pod ID] [--all]
  exec ID [--timeout S] -- CMD [ARG...]    (stdout/stderr passed through,
                                            exit status = the command's)
  update ID RESOURCES.json                 (a LinuxContainerResources)
Config files are JSON with the CRI's field names (json_format).  Outputs
are JSON with the CRI's field names (protobuf's JSON mapping: 64-bit
integers are strings, enums their names).
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import grpc
from google.protobuf import json_format

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO = os.path.join(HERE, "cri.proto")


def load_pb2():
    """Generate cri_pb2.py with protoc once per .proto content."""
    with open(PROTO, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    cache = os.environ.get("CRI_PY_CACHE") or os.path.join(tempfile.gettempdir(), "ward-cri-py")
    out = os.path.join(cache, digest)
    if not os.path.exists(os.path.join(out, "cri_pb2.py")):
        os.makedirs(cache, exist_ok=True)
        tmp = tempfile.mkdtemp(dir=cache)
        subprocess.run(["protoc", "-I", HERE, "--python_out", tmp, PROTO], check=True)
        try:
            os.rename(tmp, out)
        except OSError:
            pass  # another caller generated it first
    sys.path.insert(0, out)
    import cri_pb2  # noqa: E402
    return cri_pb2


pb = load_pb2()


class Client:
    """One callable per RPC of both services, e.g. client.Version(req)."""

    def __init__(self, sock, timeout):
        self.timeout = timeout
        self.channel = grpc.insecure_channel("unix://" + sock)
        for sname, service in pb.DESCRIPTOR.services_by_name.items():
            for m in service.methods:
                req = getattr(pb, m.input_type.name)
                resp = getattr(pb, m.output_type.name)
                call = self.channel.unary_unary(
                    "/%s/%s" % (service.full_name, m.name),
                    request_serializer=req.SerializeToString,
                    response_deserializer=resp.FromString)
                setattr(self, m.name, self._bind(call))

    def _bind(self, call):
        def invoke(req, timeout=None):
            return call(req, timeout=timeout or self.timeout)
        return invoke


def to_json(msg):
    return json_format.MessageToDict(msg, preserving_proto_field_name=True,
                                      including_default_value_fields=True)


def emit(msg):
    print(json.dumps(to_json(msg), indent=1, sort_keys=True))


def load(path, cls):
    with open(path) as f:
        return json_format.Parse(f.read(), cls())


def main():
    ap = argparse.ArgumentParser(prog="cri.py")
    ap.add_argument("--sock", default=os.environ.get("CRI_SOCK", "/run/containerd/containerd.sock"))
    ap.add_argument("--timeout", type=float, default=float(os.environ.get("CRI_TIMEOUT", "120")))
    ap.add_argument("verb")
    ap.add_argument("args", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    c = Client(a.sock, a.timeout)
    v, args = a.verb, a.args

    def opt(name, default=None, flag=False):
        if name in args:
            i = args.index(name)
            if flag:
                del args[i]
                return True
            val = args[i + 1]
            del args[i:i + 2]
            return val
        return default

    if v == "version":
        emit(c.Version(pb.VersionRequest(version="v1")))
    elif v == "status":
        emit(c.Status(pb.StatusRequest(verbose=False)))
    elif v == "images":
        emit(c.ListImages(pb.ListImagesRequest()))
    elif v == "pull":
        r = c.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=args[0])))
        print(r.image_ref)
    elif v == "rmi":
        c.RemoveImage(pb.RemoveImageRequest(image=pb.ImageSpec(image=args[0])))
    elif v == "runp":
        handler = opt("--runtime", "")
        cfg = load(args[0], pb.PodSandboxConfig)
        r = c.RunPodSandbox(pb.RunPodSandboxRequest(config=cfg, runtime_handler=handler))
        print(r.pod_sandbox_id)
    elif v == "inspectp":
        emit(c.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=args[0], verbose=True)))
    elif v == "stopp":
        c.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=args[0]))
    elif v == "rmp":
        c.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=args[0]))
    elif v == "pods":
        emit(c.ListPodSandbox(pb.ListPodSandboxRequest()))
    elif v == "create":
        pod, ctr, podcfg = args[0], load(args[1], pb.ContainerConfig), load(args[2], pb.PodSandboxConfig)
        r = c.CreateContainer(pb.CreateContainerRequest(pod_sandbox_id=pod, config=ctr,
                                                        sandbox_config=podcfg))
        print(r.container_id)
    elif v == "start":
        c.StartContainer(pb.StartContainerRequest(container_id=args[0]))
    elif v == "stop":
        t = int(opt("--timeout", "10"))
        c.StopContainer(pb.StopContainerRequest(container_id=args[0], timeout=t),
                        timeout=a.timeout + t)
    elif v == "rm":
        c.RemoveContainer(pb.RemoveContainerRequest(container_id=args[0]))
    elif v == "inspect":
        emit(c.ContainerStatus(pb.ContainerStatusRequest(container_id=args[0], verbose=True)))
    elif v == "stats":
        emit(c.ContainerStats(pb.ContainerStatsRequest(container_id=args[0])))
    elif v == "ps":
        pod = opt("--pod", "")
        show_all = opt("--all", flag=True)
        f = pb.ContainerFilter(pod_sandbox_id=pod)
        if not show_all:
            f.state.state = pb.CONTAINER_RUNNING
        emit(c.ListContainers(pb.ListContainersRequest(filter=f)))
    elif v == "exec":
        t = int(opt("--timeout", "0"))
        if args and args[1:2] == ["--"]:
            del args[1]
        r = c.ExecSync(pb.ExecSyncRequest(container_id=args[0], cmd=args[1:], timeout=t),
                       timeout=a.timeout + t)
        sys.stdout.buffer.write(r.stdout)
        sys.stderr.buffer.write(r.stderr)
        return r.exit_code
    elif v == "update":
        res = load(args[1], pb.LinuxContainerResources)
        c.UpdateContainerResources(pb.UpdateContainerResourcesRequest(container_id=args[0], linux=res))
    else:
        ap.error("unknown verb %r" % v)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except grpc.RpcError as e:
        sys.stderr.write("cri.py: %s: %s\n" % (e.code().name, e.details()))
        sys.exit(2)
